import { z } from 'zod';
import type { DbSession } from './connection';
import { findTable, type LiveSchema, type LiveTable } from './model';
import type { Finding } from './finding';
import type { Assertion } from '../types';
import { insertTarget, readOnlyForm, statementTables, updateTarget } from './statement-text';
import type { PrepareOutcome, StatementReader } from './statement-reader';
import {
  keepSafe,
  loadRecorded,
  RECORDED_FORMAT,
  type CheckedStatement,
  type RecordedStatements,
} from './recorded-statements';

export {
  loadRecorded,
  RECORDED_FORMAT,
  recordedStatementsSchema,
  saveRecorded,
  type CheckedStatement,
  type RecordedStatements,
} from './recorded-statements';

export const DEFAULT_OBSERVED_TOP = 200;
/** Longest statement text a message shows; the full normalised text is in `details`. */
const SHOWN_STATEMENT_CHARS = 240;

const observedOptions = z
  .strictObject({
    top: z
      .int()
      .min(1)
      .max(10_000)
      .default(DEFAULT_OBSERVED_TOP)
      .describe('How many statements to check, the most executed first.'),
    roles: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'PostgreSQL: the roles whose statements are read (the application’s login); default every role but the check’s own. MySQL digests are per database, not per user.',
      ),
  })
  .describe('Read the statements the database has seen (pg_stat_statements, performance_schema).');

/**
 * The `statements` option of the schema check: the statements the application runs, prepared
 * against the live schema, with or without contracts.
 */
export const statementsOption = z
  .union([
    z.literal('observed'),
    z
      .strictObject({
        observed: observedOptions.optional(),
        recorded: z
          .string()
          .min(1)
          .optional()
          .describe(
            'A file or `s3://bucket/key` object written by `greenlight schema record` before the migration ran.',
          ),
      })
      .refine((v) => v.observed !== undefined || v.recorded !== undefined, {
        error: 'expected observed and/or recorded',
      }),
  ])
  .describe(
    '`observed` (or `{ observed: { top, roles } }`) prepares the statements the database has seen; `{ recorded: FILE }` those saved by `greenlight schema record`.',
  );

export type StatementsOption = z.output<typeof statementsOption>;
export interface ObservedOptions {
  top: number;
  roles?: string[];
}

/** What to check, from the option's short or long form. */
export function statementSources(option: StatementsOption): {
  observed?: ObservedOptions;
  recorded?: string;
} {
  if (option === 'observed') return { observed: { top: DEFAULT_OBSERVED_TOP } };
  const sources: { observed?: ObservedOptions; recorded?: string } = {};
  if (option.observed) sources.observed = option.observed;
  if (option.recorded) sources.recorded = option.recorded;
  return sources;
}

async function readerFor(session: DbSession, searchPath: readonly string[]): Promise<StatementReader> {
  if (session.engine === 'postgres') {
    const { postgresReader } = await import('./observed-postgres');
    return postgresReader(session, searchPath);
  }
  const { mysqlReader } = await import('./observed-mysql');
  return mysqlReader(session);
}

/**
 * Reads the top statements from the engine's statistics and keeps those that can be shown and
 * prepared: literals the normaliser left become placeholders, non-DML and multi-statement text
 * is left out (and counted).
 */
export async function observeStatements(
  session: DbSession,
  options: ObservedOptions,
): Promise<{
  statements: CheckedStatement[];
  skipped: Record<string, number>;
  source: StatementReader['source'];
}> {
  const reader = await readerFor(session, []);
  const { statements, hidden } = await reader.read({ roles: options.roles ?? [], top: options.top });
  const skipped: Record<string, number> = {};
  if (hidden) skipped['text hidden (grant pg_read_all_stats)'] = hidden;
  return { ...keepSafe(statements, session.engine, 'observed', skipped), source: reader.source };
}

/** What `greenlight schema record` saves: blue's statements, normalised, before a migration. */
export async function recordStatements(
  session: DbSession,
  options: ObservedOptions,
): Promise<RecordedStatements> {
  const observed = await observeStatements(session, options);
  return {
    format: RECORDED_FORMAT,
    engine: session.engine,
    database: session.database,
    source: observed.source,
    recordedAt: new Date().toISOString(),
    statements: observed.statements.map((s) => ({
      text: s.text,
      calls: s.calls,
      ...(s.role ? { role: s.role } : {}),
    })),
  };
}

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

/** The application's statements, read (observed and/or recorded) but not yet prepared. */
export interface CollectedStatements {
  statements: CheckedStatement[];
  skipped: Record<string, number>;
  details: Record<string, unknown>;
}

/** Reads the statements the option names: the recorded ones first, then those observed now. */
export async function collectStatements(
  input: Pick<CheckStatementsInput, 'session' | 'option' | 'cwd' | 'signal'>,
): Promise<CollectedStatements> {
  const { session } = input;
  const sources = statementSources(input.option);
  const statements: CheckedStatement[] = [];
  const details: Record<string, unknown> = {};
  const skipped: Record<string, number> = {};
  if (sources.recorded) {
    const recorded = await loadRecorded(sources.recorded, session.engine, input.cwd, input.signal);
    statements.push(...recorded.statements);
    for (const [why, n] of Object.entries(recorded.skipped)) skipped[why] = (skipped[why] ?? 0) + n;
    details.recorded = {
      file: sources.recorded,
      recordedAt: recorded.recordedAt,
      statements: recorded.statements.length,
    };
  }
  if (sources.observed) {
    const observed = await observeStatements(session, sources.observed);
    const known = new Set(statements.map((s) => s.text));
    statements.push(...observed.statements.filter((s) => !known.has(s.text)));
    for (const [why, n] of Object.entries(observed.skipped)) skipped[why] = (skipped[why] ?? 0) + n;
    details.observed = { source: observed.source, statements: observed.statements.length };
  }
  return { statements, skipped, details };
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

const shown = (text: string) =>
  text.length > SHOWN_STATEMENT_CHARS ? `${text.slice(0, SHOWN_STATEMENT_CHARS - 3)}...` : text;

function describeStatement(s: CheckedStatement): string {
  const who = s.from === 'recorded' ? 'recorded statement' : 'observed statement';
  const by = s.role ? ` by ${s.role}` : '';
  return `${who} \`${shown(s.text)}\` (${s.calls} call${s.calls === 1 ? '' : 's'}${by})`;
}

const PG_FAILURES: Record<string, Finding['rule']> = {
  '42703': 'S7', // undefined_column
  '42P01': 'S6', // undefined_table
  '3F000': 'S6', // invalid_schema_name
  '42883': 'S14', // undefined_function (an operator or function the statement needs)
  '42804': 'S14', // datatype_mismatch
  '42704': 'S14', // undefined_object (a type)
  '42809': 'S14', // wrong_object_type
};
const MYSQL_FAILURES: Record<string, Finding['rule']> = {
  '1054': 'S7', // ER_BAD_FIELD_ERROR
  '1146': 'S6', // ER_NO_SUCH_TABLE
  '1049': 'S6', // ER_BAD_DB_ERROR
  '1305': 'S14', // ER_SP_DOES_NOT_EXIST
  '1356': 'S14', // ER_VIEW_INVALID
};

/**
 * ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR (the login may not write, as
 * intended) and ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION (MySQL refuses to prepare a write in a
 * read-only session).
 */
const MYSQL_WRITE_REFUSED = new Set(['1142', '1143', '1792']);

/** An INSERT or UPDATE whose table or named columns are missing from the catalog (MySQL without write grants). */
function missingWriteTarget(statement: CheckedStatement, live: LiveSchema): Finding | undefined {
  const target = insertTarget(statement.text, live.engine) ?? updateTarget(statement.text, live.engine);
  if (!target) return undefined;
  const table = findTable(live, target.table, live.database);
  const base = {
    version: 'blue' as const,
    severity: 'failure' as const,
    expected: 'present',
    actual: 'missing',
  };
  if (!table) {
    return {
      ...base,
      rule: 'S6',
      subject: target.table,
      message: `${describeStatement(statement)} writes table ${target.table}, which is missing (dropped or renamed): the running version's statement will fail`,
    };
  }
  const column = (target.columns ?? []).find((c) => !hasColumn(live, table, c));
  if (!column) return undefined;
  return {
    ...base,
    rule: 'S7',
    subject: `${target.table}.${column}`,
    message: `${describeStatement(statement)} writes column ${target.table}.${column}, which is missing (dropped or renamed): the running version's statement will fail`,
  };
}

/** A prepare error that the schema explains, as a finding; undefined for any other error. */
function prepareFailure(
  statement: CheckedStatement,
  outcome: Extract<PrepareOutcome, { ok: false }>,
  live: LiveSchema,
  defaultSchema: string,
): Finding | undefined {
  const rule = (live.engine === 'postgres' ? PG_FAILURES : MYSQL_FAILURES)[outcome.code];
  if (!rule) return undefined;
  let subject: string;
  let what: string;
  if (rule === 'S7') {
    subject = missingColumnSubject(statement, outcome.message, live, defaultSchema);
    what = `column ${subject} is missing (dropped or renamed)`;
  } else if (rule === 'S6') {
    const m = /relation "([^"]+)"|Table '([^']+)'|schema "([^"]+)"|database '([^']+)'/i.exec(outcome.message);
    subject = (m?.[1] ?? m?.[2] ?? m?.[3] ?? m?.[4] ?? 'table').replace(
      new RegExp(`^${live.database}\\.`),
      '',
    );
    what = `table ${subject} is missing (dropped or renamed)`;
  } else {
    subject = statementTables(statement.text, live.engine).map((t) => t.table)[0] ?? 'statement';
    what = 'it no longer resolves against the schema';
  }
  const hint = outcome.hint ? ` ${outcome.hint}` : '';
  return {
    rule,
    version: 'blue',
    subject,
    severity: 'failure',
    expected: 'prepares',
    actual: outcome.message,
    message: `${describeStatement(statement)} no longer prepares: ${what}: ${outcome.message}.${hint} The running version's statement will fail`,
  };
}

/** `users.firstname` for a column error, from the error's qualifier or the statement's tables. */
function missingColumnSubject(
  statement: CheckedStatement,
  message: string,
  live: LiveSchema,
  defaultSchema: string,
): string {
  const m =
    /column "([^"]+)" of relation "([^"]+)"/.exec(message) ??
    /column "?([^"\s]+?)"? does not exist/.exec(message) ??
    /Unknown column '([^']+)'/.exec(message);
  if (!m) return 'column';
  if (m[2]) return `${m[2]}.${m[1]}`;
  const ref = m[1]!;
  const dot = ref.lastIndexOf('.');
  const column = dot === -1 ? ref : ref.slice(dot + 1);
  const qualifier = dot === -1 ? undefined : ref.slice(0, dot);
  const tables = statementTables(statement.text, live.engine);
  if (qualifier) {
    const t = tables.find(
      (t) => t.alias === qualifier || t.table === qualifier || t.table.endsWith(`.${qualifier}`),
    );
    return `${t?.table ?? qualifier}.${column}`;
  }
  const names = [...new Set(tables.map((t) => t.table))];
  // The column is missing from the table that lost it: of the tables named, those without it.
  const without = names.filter((n) => {
    const table = findTable(live, n, defaultSchema);
    return !table || !hasColumn(live, table, column);
  });
  const candidates = without.length ? without : names;
  return candidates.length === 1 ? `${candidates[0]}.${column}` : column;
}

function hasColumn(live: LiveSchema, table: LiveTable, name: string): boolean {
  return table.columns.has(live.caseInsensitiveColumns ? name.toLowerCase() : name);
}

/** An INSERT that prepares but leaves out a NOT NULL column without a default (S8). */
function missingNotNull(
  statement: CheckedStatement,
  live: LiveSchema,
  defaultSchema: string,
): Finding | undefined {
  if (statement.kind !== 'insert' && statement.kind !== 'replace' && statement.kind !== 'with')
    return undefined;
  const target = insertTarget(statement.text, live.engine);
  if (!target?.columns) return undefined;
  const table = findTable(live, target.table, defaultSchema);
  if (!table || table.kind !== 'table') return undefined;
  const listed = new Set(target.columns.map((c) => (live.caseInsensitiveColumns ? c.toLowerCase() : c)));
  const left = [...table.columns.values()].filter(
    (c) =>
      c.notNull &&
      !c.hasDefault &&
      !c.generated &&
      !c.identity &&
      !listed.has(live.caseInsensitiveColumns ? c.name.toLowerCase() : c.name),
  );
  if (!left.length) return undefined;
  const names = left.map((c) => c.name).join(', ');
  const strict = live.strictWrites;
  return {
    rule: 'S8',
    version: 'blue',
    subject: `${target.table}.${left[0]!.name}`,
    severity: strict ? 'failure' : 'warning',
    expected: 'every NOT NULL column without a default is inserted',
    actual: `${names} left out`,
    message: `${describeStatement(statement)} leaves out ${target.table}.${names}, NOT NULL with no default: ${
      strict ? 'those INSERTs will fail' : `those INSERTs store '' or 0 (sql_mode is not strict)`
    }`,
  };
}
