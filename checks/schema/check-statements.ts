// Prepares the application's statements against the live schema and reports those that broke.
import type { DbSession } from './connection';
import type { LiveSchema } from './model';
import type { Finding } from './finding';
import type { Assertion } from '../types';
import { readOnlyForm } from './statement-text';
import { collectStatements, readerFor, type CollectedStatements } from './observed-statements';
import type { StatementsOption } from './statements-option';
import {
  missingNotNull,
  missingWriteTarget,
  MYSQL_WRITE_REFUSED,
  prepareFailure,
} from './statement-findings';

/** What checking the statements found, for the schema check's report. */
export interface StatementsResult {
  findings: Finding[];
  assertions: Assertion[];
  details: Record<string, unknown>;
  /** How many statements were checked (prepared, or compared with the catalog). */
  checked: number;
}

export interface CheckStatementsInput {
  session: DbSession;
  live: LiveSchema;
  option: StatementsOption;
  /** PostgreSQL: the search_path statements are prepared under (the check's `schemas`). */
  searchPath: readonly string[];
  cwd?: string;
  signal?: AbortSignal;
  /** Statements already read (a rehearsal reads them from the live database, prepares them elsewhere). */
  collected?: CollectedStatements;
}

/**
 * `statements`: prepares the application's statements (observed now and/or recorded before
 * the migration) against the live schema. A statement that no longer prepares is a failure
 * naming the normalised statement, the server's error and the table or column; an INSERT that
 * leaves out a NOT NULL column without a default is one too. Statements that cannot be checked
 * here (types the server cannot infer for placeholders, syntax the digest mangled) are counted.
 */
export async function checkStatements(input: CheckStatementsInput): Promise<StatementsResult> {
  const { session, live } = input;
  const { statements, skipped, details } = input.collected ?? (await collectStatements(input));

  const reader = await readerFor(session, input.searchPath);
  const outcomes = statements.length ? await reader.prepareAll(statements.map((s) => s.text)) : [];
  const defaultSchema = live.engine === 'mysql' ? live.database : (input.searchPath[0] ?? 'public');
  const findings: Finding[] = [];
  const unverified: Array<{ statement: string; error: string }> = [];
  let fromCatalog = 0;
  for (const [i, outcome] of outcomes.entries()) {
    const statement = statements[i]!;
    const write = ['insert', 'update', 'delete', 'replace'].includes(statement.kind);
    if (!outcome.ok && write && live.engine === 'mysql' && MYSQL_WRITE_REFUSED.has(outcome.code)) {
      // MySQL does not prepare a write in a read-only session, nor for a login without write
      // grants: the write's table and the columns it assigns are compared with the catalog, and
      // an UPDATE's or DELETE's WHERE clause is prepared as a SELECT.
      fromCatalog++;
      const form = readOnlyForm(statement.text, live.engine);
      const [asSelect] = form ? await reader.prepareAll([form]) : [];
      const finding =
        missingWriteTarget(statement, live) ??
        (asSelect && !asSelect.ok ? prepareFailure(statement, asSelect, live, defaultSchema) : undefined) ??
        missingNotNull(statement, live, defaultSchema);
      if (finding) findings.push(finding);
      continue;
    }
    if (outcome.ok) {
      const notNull = missingNotNull(statement, live, defaultSchema);
      if (notNull) findings.push(notNull);
      continue;
    }
    const finding = prepareFailure(statement, outcome, live, defaultSchema);
    if (finding) findings.push(finding);
    else unverified.push({ statement: statement.text, error: `${outcome.code}: ${outcome.message}` });
  }
  if (unverified.length)
    skipped['could not be prepared for reasons other than the schema'] = unverified.length;
  if (fromCatalog) details.checkedFromCatalog = fromCatalog;

  const failed = new Set(findings.filter((f) => f.severity === 'failure').map((f) => f.subject));
  const prepared = outcomes.filter((o) => o.ok).length;
  const catalog = fromCatalog ? `, ${fromCatalog} writes compared with the catalog` : '';
  const assertion: Assertion = {
    what: `application statements against ${live.database}`,
    expected: 'all prepare',
    actual: `${prepared} of ${statements.length} prepared${catalog}${findings.length ? `, ${findings.length} broken` : ''}`,
    ok: failed.size === 0,
  };
  details.checked = statements.length;
  details.prepared = prepared;
  if (Object.keys(skipped).length) details.notChecked = skipped;
  if (unverified.length) details.unverified = unverified.slice(0, 20);
  return { findings, assertions: [assertion], details, checked: statements.length };
}
