import type { PGlite } from '@electric-sql/pglite';
import type { DbSession } from './connection';
import { introspect } from './introspect';
import {
  MigrationFilesError,
  pendingMigrations,
  readHistory,
  type MigrationSource,
  type PendingMigration,
  type RehearsalTool,
} from './migration-files';
import {
  DEFAULT_LARGE_TABLE,
  describeSize,
  isLarge,
  lockFindings,
  shownMigrationStatement,
  statementTable,
  withoutLiterals,
  type LargeTable,
  type LockRule,
} from './migration-lint';
import { checkStatements } from './check-statements';
import { collectStatements, type CollectedStatements } from './observed-statements';
import type { StatementsOption } from './statements-option';
import { postgresReader } from './observed-postgres';
import { applyDdl, openPglite, shadowError, shadowSession, type ShadowGap } from './shadow-database';
import { readLiveDdl, type LiveDdl } from './shadow-ddl';

/** One thing the rehearsal found; every finding fails it. */
export interface RehearsalFinding {
  kind: 'migration' | 'statement' | 'lock';
  /** A lock rule's name, `migration-fails`, or the schema rule of a broken statement (S6, S7, S8, S14). */
  rule: LockRule | 'migration-fails' | string;
  /** `V3__rename.sql:4`, or the statement's table or column. */
  subject: string;
  message: string;
  fix?: string;
}

export interface RehearsalInput {
  /** The live database, read-only: the DDL, the sizes, the history table and observed statements come from it. */
  live: DbSession;
  /** A folder, or a source such as an S3 prefix. */
  migrations: string | MigrationSource;
  tool: RehearsalTool;
  /** The tool's history table when not its default (`schema.table` allowed). */
  historyTable?: string;
  /** Blue's statements: recorded (file or S3) and/or observed on the live database now. */
  statements?: StatementsOption;
  /** The search_path blue's statements run under (default `public`). */
  searchPath?: readonly string[];
  large?: LargeTable;
  cwd?: string;
  /** Stops the rehearsal between two steps (a hook's deadline): it then throws RehearsalStopped. */
  signal?: AbortSignal;
  /** The initialised PGlite data directory to start from; false for a fresh one. */
  cacheFile?: string | false;
}

export interface RehearsalResult {
  outcome: 'passed' | 'failed';
  findings: RehearsalFinding[];
  /** Files applied in the shadow, in order, and those the live database already has. */
  pending: string[];
  alreadyApplied: number;
  /** Live objects the shadow could not rebuild. */
  gaps: ShadowGap[];
  statements: { checked: number; prepared: number; notChecked: Record<string, number> };
  /** The live DDL's digest before and after the run: equal, or the run says so. */
  live: { tables: number; digestBefore: string; digestAfter: string; unchanged: boolean };
  ms: { read: number; shadow: number; migrations: number; statements: number; total: number };
}

/** What the rehearsal was doing when it was stopped. */
export type RehearsalPhase =
  | 'reading the live schema'
  | 'starting PGlite'
  | 'rebuilding the schema in PGlite'
  | 'applying the migrations'
  | 'preparing blue’s statements'
  | 'reading the live schema again';

/** The rehearsal was stopped (its signal fired) before it finished; nothing was decided. */
export class RehearsalStopped extends Error {
  constructor(
    readonly phase: RehearsalPhase,
    readonly elapsedMs: number,
    options?: ErrorOptions,
  ) {
    super(`stopped while ${phase}, after ${elapsedMs} ms`, options);
    this.name = 'RehearsalStopped';
  }
}

/** Builds the shadow, applies the pending migrations there, and prepares blue's statements on it. */
export async function rehearseMigration(input: RehearsalInput): Promise<RehearsalResult> {
  const started = performance.now();
  let phase: RehearsalPhase = 'reading the live schema';
  try {
    return await rehearse(input, started, (next) => {
      input.signal?.throwIfAborted();
      phase = next;
    });
  } catch (err) {
    if (input.signal?.aborted)
      throw new RehearsalStopped(phase, Math.round(performance.now() - started), { cause: err });
    throw err;
  }
}

async function rehearse(
  input: RehearsalInput,
  started: number,
  step: (phase: RehearsalPhase) => void,
): Promise<RehearsalResult> {
  const { live } = input;
  if (live.engine !== 'postgres') throw new MigrationFilesError('rehearsal needs PostgreSQL');
  if (!live.readOnly)
    throw new MigrationFilesError('the live session could not be made read-only; nothing was done');
  const searchPath = input.searchPath?.length ? input.searchPath : ['public'];
  const large = input.large ?? DEFAULT_LARGE_TABLE;

  const history = await readHistory(live, input.tool, input.historyTable);
  const { pending, applied } = await pendingMigrations(input.migrations, input.tool, history);
  const collected: CollectedStatements = input.statements
    ? await collectStatements({
        session: live,
        option: input.statements,
        ...(input.cwd ? { cwd: input.cwd } : {}),
        ...(input.signal ? { signal: input.signal } : {}),
      })
    : { statements: [], skipped: {}, details: {} };
  const ddl = await readLiveDdl(live);
  const read = performance.now();

  step('starting PGlite');
  const db = await openPglite(input.cacheFile);
  try {
    step('rebuilding the schema in PGlite');
    const gaps = await applyDdl(db, ddl.statements);
    const shadow = shadowSession(db, live.database);
    const shadowReady = performance.now();

    // A statement that already fails on the shadow before any migration is not the migration's
    // doing (a gap in the shadow, or broken already): it is counted, not blamed.
    const texts = collected.statements.map((s) => s.text);
    const before = texts.length ? await postgresReader(shadow, searchPath).prepareAll(texts) : [];
    const usable = collected.statements.filter((_, i) => before[i]?.ok);
    const notChecked = { ...collected.skipped };
    const failingBefore = collected.statements.length - usable.length;
    if (failingBefore) notChecked['fail on the shadow before the migration too'] = failingBefore;

    const findings: RehearsalFinding[] = [];
    step('applying the migrations');
    const migrated = await applyMigrations(db, pending, ddl, large, findings, () =>
      step('applying the migrations'),
    );
    const migrationsDone = performance.now();

    let prepared = 0;
    if (migrated && usable.length) {
      step('preparing blue’s statements');
      const after = await introspect(shadow, searchPath);
      const result = await checkStatements({
        session: shadow,
        live: after,
        option: 'observed',
        searchPath,
        collected: { ...collected, statements: usable, skipped: {} },
      });
      for (const f of result.findings.filter((f) => f.severity === 'failure'))
        findings.push({ kind: 'statement', rule: f.rule, subject: f.subject, message: f.message });
      prepared = Number(result.details.prepared ?? 0);
      const unverified = (result.details.notChecked as Record<string, number> | undefined) ?? {};
      for (const [why, n] of Object.entries(unverified)) notChecked[why] = (notChecked[why] ?? 0) + n;
    }
    const statementsDone = performance.now();

    step('reading the live schema again');
    const afterDdl = await readLiveDdl(live);
    const unchanged = afterDdl.digest === ddl.digest;
    return {
      outcome: findings.length ? 'failed' : 'passed',
      findings,
      pending: pending.map((m) => m.file),
      alreadyApplied: applied,
      gaps,
      statements: { checked: migrated ? usable.length : 0, prepared, notChecked },
      live: {
        tables: ddl.sizes.size,
        digestBefore: ddl.digest,
        digestAfter: afterDdl.digest,
        unchanged,
      },
      ms: {
        read: Math.round(read - started),
        shadow: Math.round(shadowReady - read),
        migrations: Math.round(migrationsDone - shadowReady),
        statements: Math.round(statementsDone - migrationsDone),
        total: Math.round(performance.now() - started),
      },
    };
  } finally {
    await db.close();
  }
}

const FILENODES_SQL = `SELECT c.oid::int8 AS oid, pg_catalog.pg_relation_filenode(c.oid)::int8 AS node
FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'm')`;

async function filenodes(db: PGlite): Promise<Map<string, string>> {
  const rows = (await db.query<{ oid: string; node: string }>(FILENODES_SQL)).rows;
  return new Map(rows.map((r) => [String(r.oid), String(r.node)]));
}

/** `public.users` (as quote_ident spells it) and the oid of the relation a statement names, in the shadow now. */
async function resolveTable(db: PGlite, name: string): Promise<{ oid: string; name: string } | undefined> {
  const rows = (
    await db.query<{ oid: string; name: string }>(
      `SELECT c.oid::int8 AS oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.oid = pg_catalog.to_regclass($1)`,
      [name],
    )
  ).rows;
  return rows[0] ? { oid: String(rows[0].oid), name: rows[0].name } : undefined;
}

/**
 * Applies the pending migrations one statement at a time, as the tool would. Stops at the first
 * statement that fails, as the tools do; returns whether every migration applied.
 */
async function applyMigrations(
  db: PGlite,
  pending: readonly PendingMigration[],
  ddl: LiveDdl,
  large: LargeTable,
  findings: RehearsalFinding[],
  between: () => void,
): Promise<boolean> {
  for (const migration of pending) {
    for (const statement of migration.statements) {
      between();
      const where = `${migration.file}:${statement.line}`;
      const named = statementTable(statement.sql);
      const target = named ? await resolveTable(db, named).catch(() => undefined) : undefined;
      const size = target ? ddl.sizes.get(target.name) : undefined;
      const watch = size && isLarge(size, large);
      const nodesBefore = watch ? await filenodes(db) : undefined;
      try {
        await db.exec(statement.sql);
      } catch (err) {
        const e = shadowError(err);
        findings.push({
          kind: 'migration',
          rule: 'migration-fails',
          subject: where,
          message: `migration ${where} fails on a copy of the live schema: \`${shownMigrationStatement(statement.sql)}\`: ${withoutLiterals(e.message, statement.sql)}${e.code ? ` (${e.code})` : ''}; nothing after it was applied`,
        });
        return false;
      }
      if (!watch || !target || !size) continue;
      const nodesAfter = await filenodes(db);
      const rewrote =
        nodesBefore!.has(target.oid) &&
        nodesAfter.has(target.oid) &&
        nodesBefore!.get(target.oid) !== nodesAfter.get(target.oid);
      for (const lock of lockFindings(statement.sql, target.name, size, rewrote)) {
        findings.push({
          kind: 'lock',
          rule: lock.rule,
          subject: where,
          message: `${lock.rule}: migration ${where} \`${shownMigrationStatement(statement.sql)}\` on ${lock.table} (${describeSize(lock.size)} live) ${lock.problem}`,
          fix: lock.fix,
        });
      }
    }
  }
  return true;
}
