import { tokenize } from './statement-text';
import type { TableSize } from './shadow-ddl';

/**
 * Lock rules for a migration statement on a table that is large on the live server, named as
 * Squawk names them. Whether a statement rewrites its table is not guessed from its text: the
 * shadow applies it and the table's relfilenode tells (a rewrite gives the table a new file).
 */
export type LockRule =
  | 'require-concurrent-index-creation'
  | 'adding-field-with-default'
  | 'changing-column-type'
  | 'constraint-missing-not-valid'
  | 'setting-not-nullable-field'
  | 'table-rewrite';

/** When a table counts as large: either bound reached (rows from pg_class.reltuples). */
export interface LargeTable {
  rows: number;
  bytes: number;
}

export const DEFAULT_LARGE_TABLE: LargeTable = { rows: 100_000, bytes: 128 * 1024 * 1024 };

export interface LockFinding {
  rule: LockRule;
  table: string;
  size: TableSize;
  /** What the statement does to the table, and for how long others wait. */
  problem: string;
  fix: string;
}

/** The statement's head, safe to show: string literals become `'…'`, and long text is cut. */
export function shownMigrationStatement(sql: string, max = 160): string {
  const text = tokenize(sql, 'postgres')
    .filter((t) => t.kind !== 'comment')
    .map((t) => (t.kind === 'string' ? "'…'" : t.kind === 'space' ? ' ' : t.text))
    .join('')
    .trim();
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** The string literals of a statement, to keep them out of any server message quoted back. */
export function statementLiterals(sql: string): string[] {
  return tokenize(sql, 'postgres')
    .filter((t) => t.kind === 'string')
    .map((t) => t.text.replace(/^[eEbBxXnN]?'|'$/g, '').replace(/^\$[^$]*\$|\$[^$]*\$$/g, ''))
    .filter((s) => s.length >= 3);
}

/** Every string literal of `sql` found in `message` becomes `'…'`. */
export function withoutLiterals(message: string, sql: string): string {
  let out = message;
  for (const literal of statementLiterals(sql).sort((a, b) => b.length - a.length))
    out = out.split(literal).join('…');
  return out;
}

const normalized = (sql: string) =>
  tokenize(sql, 'postgres')
    .filter((t) => t.kind !== 'comment')
    .map((t) => (t.kind === 'space' ? ' ' : t.text))
    .join('')
    .trim();

/** `ON [ONLY] name` of a CREATE INDEX, or the table of an ALTER TABLE; unquoted as written. */
export function statementTable(sql: string): string | undefined {
  const text = normalized(sql);
  const index = /^CREATE\s+(?:UNIQUE\s+)?INDEX\b[\s\S]*?\bON\s+(?:ONLY\s+)?((?:"[^"]+"|[^\s(]+))/i.exec(text);
  if (index) return index[1];
  const alter = /^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?((?:"[^"]+"|[^\s(]+))/i.exec(text);
  return alter?.[1];
}

export function isLarge(size: TableSize, large: LargeTable): boolean {
  return (size.rows !== undefined && size.rows >= large.rows) || size.bytes >= large.bytes;
}

export function describeSize(size: TableSize): string {
  const mib = size.bytes / (1024 * 1024);
  const bytes = mib >= 1 ? `${mib.toFixed(mib >= 100 ? 0 : 1)} MiB` : `${Math.ceil(size.bytes / 1024)} KiB`;
  return size.rows === undefined ? bytes : `~${Math.round(size.rows).toLocaleString('en-US')} rows, ${bytes}`;
}

/**
 * The lock rules a statement breaks on `table` (already resolved to its qualified name and
 * known to be large), given whether the shadow saw it rewrite the table.
 */
export function lockFindings(sql: string, table: string, size: TableSize, rewrote: boolean): LockFinding[] {
  const text = normalized(sql);
  const found: LockFinding[] = [];
  const at = (rule: LockRule, problem: string, fix: string) =>
    found.push({ rule, table, size, problem, fix });
  if (
    /^CREATE\s+(?:UNIQUE\s+)?INDEX\b/i.test(text) &&
    !/^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\b/i.test(text)
  ) {
    at(
      'require-concurrent-index-creation',
      'builds the index under a SHARE lock: every write to the table waits until the build ends',
      'CREATE INDEX CONCURRENTLY, in a migration of its own outside a transaction (the tool must not wrap it in one)',
    );
  }
  if (!/^ALTER\s+TABLE\b/i.test(text)) return found;
  if (rewrote) {
    if (/\bALTER\s+(?:COLUMN\s+)?\S+\s+(?:SET\s+DATA\s+)?TYPE\b/i.test(text)) {
      at(
        'changing-column-type',
        'changes a column type in a way that rewrites the table (and its indexes) under an ACCESS EXCLUSIVE lock: reads and writes wait',
        'add a column of the new type, backfill it in batches, switch the application to it in a release, then drop the old column',
      );
    } else if (/\bADD\s+(?:COLUMN\s+)?[\s\S]*\bDEFAULT\b/i.test(text)) {
      at(
        'adding-field-with-default',
        'adds a column whose default is volatile, which rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes wait',
        'add the column without a default (or with a constant one), set the default in a second statement, and backfill existing rows in batches',
      );
    } else {
      at(
        'table-rewrite',
        'rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes wait',
        'split the change so that no statement rewrites the table (new column, batched backfill, switch, drop)',
      );
    }
  }
  if (
    /\bADD\s+(?:CONSTRAINT\s+\S+\s+)?(?:CHECK|FOREIGN\s+KEY)\b/i.test(text) &&
    !/\bNOT\s+VALID\b/i.test(text)
  ) {
    at(
      'constraint-missing-not-valid',
      'adds a constraint that scans every row while holding a lock that blocks writes',
      'add the constraint NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT in a later statement (it takes a lighter lock)',
    );
  }
  if (/\bALTER\s+(?:COLUMN\s+)?\S+\s+SET\s+NOT\s+NULL\b/i.test(text)) {
    at(
      'setting-not-nullable-field',
      'scans every row under an ACCESS EXCLUSIVE lock to check for NULLs: reads and writes wait',
      'add CHECK (column IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it, then SET NOT NULL (PostgreSQL 12+ skips the scan) and drop the check',
    );
  }
  return found;
}
