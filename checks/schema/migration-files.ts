import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getS3Text, listS3Folder } from '../../lib/s3-object';
import type { DbSession } from './connection';
import { isApplied, readMigrationHistory, type MigrationHistory } from './migrations';
import { tokenize } from './statement-text';

/** The migration layouts `greenlight schema rehearse` reads: SQL files, named as each tool names them. */
export const REHEARSAL_TOOLS = ['flyway', 'golang-migrate', 'plain'] as const;
export type RehearsalTool = (typeof REHEARSAL_TOOLS)[number];

/** A migration file not yet applied to the live database, split into statements. */
export interface PendingMigration {
  /** The file name, e.g. `V3__rename_firstname.sql`. */
  file: string;
  /** The id the tool records: flyway's version, golang-migrate's version, the plain file name. */
  id: string;
  statements: ScriptStatement[];
}

export interface ScriptStatement {
  sql: string;
  /** 1-based line of the statement's first token in its file. */
  line: number;
}

export class MigrationFilesError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'MigrationFilesError';
  }
}

/**
 * Splits a SQL script into statements at top-level semicolons; quoted text, dollar-quoted
 * bodies and comments are kept whole, and comment-only pieces are dropped.
 */
export function splitScript(sql: string): ScriptStatement[] {
  const statements: ScriptStatement[] = [];
  let text = '';
  let line = 1;
  let start: number | undefined;
  let meaningful = false;
  for (const token of tokenize(sql, 'postgres')) {
    if (token.kind === 'punct' && token.text === ';') {
      if (meaningful) statements.push({ sql: text.trim(), line: start ?? line });
      text = '';
      meaningful = false;
      start = undefined;
    } else {
      if (token.kind !== 'space' && token.kind !== 'comment') {
        meaningful = true;
        start ??= line;
      }
      if (meaningful || token.kind !== 'comment') text += token.text;
    }
    line += token.text.split('\n').length - 1;
  }
  if (meaningful) statements.push({ sql: text.trim(), line: start ?? line });
  return statements;
}

interface Candidate {
  file: string;
  id: string;
  order: Array<number | string>;
}

const FLYWAY_VERSIONED = /^V([0-9][0-9._]*)__.*\.sql$/;
const FLYWAY_REPEATABLE = /^R__.*\.sql$/;
const GOLANG_UP = /^([0-9]+)_.*\.up\.sql$/;

/** Flyway stores `1.2` for `V1_2__x.sql` and `V1.2__x.sql`, without leading zeros. */
const flywayVersion = (raw: string) =>
  raw
    .replace(/_/g, '.')
    .split('.')
    .filter(Boolean)
    .map((p) => String(BigInt(p)))
    .join('.');

function compareOrder(a: Candidate, b: Candidate): number {
  for (let i = 0; i < Math.max(a.order.length, b.order.length); i++) {
    const x = a.order[i];
    const y = b.order[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x !== y) {
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return String(x) < String(y) ? -1 : 1;
    }
  }
  return 0;
}

/** `0010_add.sql` before `0100_x.sql`; `2_b.sql` before `10_a.sql`. */
const naturalOrder = (name: string): Array<number | string> =>
  name.split(/(\d+)/).map((part, i) => (i % 2 ? Number(part) : part));

function candidates(tool: RehearsalTool, files: string[]): Candidate[] {
  const found: Candidate[] = [];
  for (const file of files) {
    if (tool === 'flyway') {
      const v = FLYWAY_VERSIONED.exec(file);
      if (v) {
        const id = flywayVersion(v[1]!);
        found.push({ file, id, order: [0, ...id.split('.').map(Number)] });
      } else if (FLYWAY_REPEATABLE.test(file)) {
        found.push({ file, id: file, order: [1, file] }); // repeatables run after the versioned
      }
    } else if (tool === 'golang-migrate') {
      const v = GOLANG_UP.exec(file);
      if (v) found.push({ file, id: String(BigInt(v[1]!)), order: [Number(v[1])] });
    } else if (file.endsWith('.sql')) {
      found.push({ file, id: file, order: naturalOrder(file) });
    }
  }
  return found.sort(compareOrder);
}

/** Flyway's and golang-migrate's default history table, read from the live database. */
export async function readHistory(
  session: DbSession,
  tool: RehearsalTool,
  table: string | undefined,
): Promise<MigrationHistory | undefined> {
  if (tool === 'plain') return undefined;
  return readMigrationHistory(session, { tool, required: [], ...(table ? { table } : {}) }, 'public');
}

/**
 * Where a release's migration files are: a folder, or an S3 prefix the pipeline uploaded them
 * to. Only the pending files are read.
 */
export interface MigrationSource {
  /** The folder or `s3://bucket/prefix/`, for messages. */
  location: string;
  /** The file names directly in it. */
  list(): Promise<string[]>;
  read(file: string): Promise<string>;
}

/** The largest migration file read from S3. */
const MIGRATION_MAX_BYTES = 16 * 1024 * 1024;
/** The most objects an S3 migrations folder may hold. */
const MIGRATION_MAX_FILES = 10_000;

export function folderMigrations(dir: string): MigrationSource {
  return {
    location: dir,
    async list() {
      try {
        return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
      } catch (err) {
        throw new MigrationFilesError(
          `cannot read the migrations directory ${dir}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
    read: (file) => readFile(join(dir, file), 'utf8'),
  };
}

/** The migration files under `s3://bucket/prefix/` (s3:ListBucket on the prefix, s3:GetObject on its objects). */
export function s3Migrations(location: string, signal?: AbortSignal): MigrationSource {
  const folder = location.endsWith('/') ? location : `${location}/`;
  const bounded = signal ? { signal } : {};
  return {
    location: folder,
    list: () => listS3Folder(folder, { maxKeys: MIGRATION_MAX_FILES, ...bounded }),
    read: (file) => getS3Text(`${folder}${file}`, { maxBytes: MIGRATION_MAX_BYTES, ...bounded }),
  };
}

/** The tool a folder's file names say: flyway's `V<version>__x.sql`, golang-migrate's `<version>_x.up.sql`, else plain. */
export function inferRehearsalTool(files: readonly string[]): RehearsalTool {
  if (files.some((f) => FLYWAY_VERSIONED.test(f))) return 'flyway';
  if (files.some((f) => GOLANG_UP.test(f))) return 'golang-migrate';
  return 'plain';
}

/**
 * The migrations in `source` that the live database has not applied, in the order the tool runs
 * them. Flyway and golang-migrate: from the tool's history table (a failed flyway row counts as
 * not applied); plain: every `.sql` file, in natural name order (the directory holds the
 * release's migrations only).
 */
export async function pendingMigrations(
  source: string | MigrationSource,
  tool: RehearsalTool,
  history: MigrationHistory | undefined,
): Promise<{ pending: PendingMigration[]; applied: number }> {
  const from = typeof source === 'string' ? folderMigrations(source) : source;
  const files = await from.list();
  const all = candidates(tool, files);
  if (all.length === 0) {
    const names: Record<RehearsalTool, string> = {
      flyway: 'V<version>__<description>.sql',
      'golang-migrate': '<version>_<title>.up.sql',
      plain: '*.sql',
    };
    throw new MigrationFilesError(
      `no ${tool} migrations in ${from.location}: expected files named ${names[tool]}`,
    );
  }
  const pending: PendingMigration[] = [];
  let applied = 0;
  for (const c of all) {
    if (history?.found && isApplied(history, c.id)) {
      applied++;
      continue;
    }
    const text = await from.read(c.file);
    pending.push({ file: c.file, id: c.id, statements: splitScript(text) });
  }
  return { pending, applied };
}
