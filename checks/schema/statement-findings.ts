// Why an application statement no longer works against the live schema, as a finding (S6, S7, S8, S14).
import { findTable, type LiveSchema, type LiveTable } from './model';
import type { Finding } from './finding';
import { insertTarget, statementTables, updateTarget } from './statement-text';
import type { PrepareOutcome } from './statement-reader';
import type { CheckedStatement } from './recorded-statements';

/** Longest statement text a message shows; the full normalised text is in `details`. */
const SHOWN_STATEMENT_CHARS = 240;

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
export const MYSQL_WRITE_REFUSED = new Set(['1142', '1143', '1792']);

/** An INSERT or UPDATE whose table or named columns are missing from the catalog (MySQL without write grants). */
export function missingWriteTarget(statement: CheckedStatement, live: LiveSchema): Finding | undefined {
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
export function prepareFailure(
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
export function missingNotNull(
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
