import type { ContractMigrations, MigrationTool } from './contract';
import type { DbSession } from './connection';
import type { Engine } from './model';

/** One row of a migration history table, reduced to what the checks need. */
export interface AppliedMigration {
  id: string;
  /** Recorded as failed (flyway success = false, liquibase FAILED, prisma unfinished). */
  failed: boolean;
  /** Half-applied (golang-migrate dirty): the schema is in an unknown state. */
  dirty: boolean;
}

export interface MigrationHistory {
  tool: MigrationTool;
  table: string;
  /** False when the history table does not exist. */
  found: boolean;
  applied: AppliedMigration[];
  /**
   * golang-migrate keeps only the current version: every version up to it counts as applied.
   * Compared numerically.
   */
  upTo?: bigint;
}

interface ToolDefinition {
  /** Default table per engine; `schema.table` is allowed. */
  table: Record<Engine, string>;
  /** Columns selected, `alias: column`; every alias is read by `row`. */
  columns: Record<string, string>;
  row(r: Record<string, unknown>): AppliedMigration | undefined;
}

const truthy = (v: unknown): boolean =>
  v === true || v === 1 || v === '1' || v === 't' || v === 'true' || (Buffer.isBuffer(v) && v[0] === 1);
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

const TOOLS: Record<Exclude<MigrationTool, 'custom'>, ToolDefinition> = {
  flyway: {
    table: { postgres: 'flyway_schema_history', mysql: 'flyway_schema_history' },
    columns: { version: 'version', script: 'script', success: 'success' },
    // Repeatable migrations have no version: their script names them.
    row: (r) => ({ id: str(r.version) || str(r.script), failed: !truthy(r.success), dirty: false }),
  },
  liquibase: {
    table: { postgres: 'databasechangelog', mysql: 'DATABASECHANGELOG' },
    columns: { id: 'id', exectype: 'exectype' },
    row: (r) => ({ id: str(r.id), failed: str(r.exectype).toUpperCase() === 'FAILED', dirty: false }),
  },
  knex: {
    table: { postgres: 'knex_migrations', mysql: 'knex_migrations' },
    columns: { name: 'name' },
    row: (r) => ({ id: str(r.name), failed: false, dirty: false }),
  },
  prisma: {
    table: { postgres: '_prisma_migrations', mysql: '_prisma_migrations' },
    columns: { name: 'migration_name', finished: 'finished_at', rolledBack: 'rolled_back_at' },
    // A rolled-back attempt is history, not state; a row with neither timestamp failed or is running.
    row: (r) => (r.rolledBack ? undefined : { id: str(r.name), failed: !r.finished, dirty: false }),
  },
  rails: {
    table: { postgres: 'schema_migrations', mysql: 'schema_migrations' },
    columns: { version: 'version' },
    row: (r) => ({ id: str(r.version), failed: false, dirty: false }),
  },
  'golang-migrate': {
    table: { postgres: 'schema_migrations', mysql: 'schema_migrations' },
    columns: { version: 'version', dirty: 'dirty' },
    row: (r) => ({ id: str(r.version), failed: false, dirty: truthy(r.dirty) }),
  },
  django: {
    table: { postgres: 'django_migrations', mysql: 'django_migrations' },
    columns: { app: 'app', name: 'name' },
    row: (r) => ({ id: `${str(r.app)}.${str(r.name)}`, failed: false, dirty: false }),
  },
  typeorm: {
    table: { postgres: 'migrations', mysql: 'migrations' },
    columns: { name: 'name' },
    row: (r) => ({ id: str(r.name), failed: false, dirty: false }),
  },
  sequelize: {
    table: { postgres: 'SequelizeMeta', mysql: 'SequelizeMeta' },
    columns: { name: 'name' },
    row: (r) => ({ id: str(r.name), failed: false, dirty: false }),
  },
  drizzle: {
    table: { postgres: 'drizzle.__drizzle_migrations', mysql: '__drizzle_migrations' },
    columns: { hash: 'hash' },
    row: (r) => ({ id: str(r.hash), failed: false, dirty: false }),
  },
};

/** The history table a contract's migrations live in, as `schema.table` on PostgreSQL. */
export function historyTable(migrations: ContractMigrations, engine: Engine, defaultSchema: string): string {
  const table =
    migrations.table ?? (migrations.tool === 'custom' ? '' : TOOLS[migrations.tool].table[engine]);
  if (engine === 'postgres' && !table.includes('.')) return `${defaultSchema}.${table}`;
  return table;
}

function quote(engine: Engine, identifier: string): string {
  return engine === 'postgres'
    ? `"${identifier.replace(/"/g, '""')}"`
    : `\`${identifier.replace(/`/g, '``')}\``;
}

const MISSING_TABLE_CODES = new Set(['42P01', '3F000', 'ER_NO_SUCH_TABLE', 'ER_BAD_DB_ERROR']);

/** Reads a migration history table in one query; a missing table is `found: false`, not an error. */
export async function readMigrationHistory(
  session: DbSession,
  migrations: ContractMigrations,
  defaultSchema: string,
): Promise<MigrationHistory> {
  const engine = session.engine;
  const table = historyTable(migrations, engine, defaultSchema);
  let definition: ToolDefinition;
  if (migrations.tool === 'custom') {
    const columns: Record<string, string> = { id: migrations.idColumn! };
    if (migrations.successColumn) columns.success = migrations.successColumn;
    if (migrations.dirtyColumn) columns.dirty = migrations.dirtyColumn;
    definition = {
      table: { postgres: table, mysql: table },
      columns,
      row: (r) => ({
        id: str(r.id),
        failed: 'success' in r ? !truthy(r.success) : false,
        dirty: 'dirty' in r ? truthy(r.dirty) : false,
      }),
    };
  } else {
    definition = TOOLS[migrations.tool];
  }
  const select = Object.entries(definition.columns)
    .map(([alias, column]) => `${quote(engine, column)} AS ${quote(engine, alias)}`)
    .join(', ');
  const from = table
    .split('.')
    .map((part) => quote(engine, part))
    .join('.');
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await session.query(`SELECT ${select} FROM ${from}`);
  } catch (err) {
    if (MISSING_TABLE_CODES.has(String((err as { code?: unknown }).code)))
      return { tool: migrations.tool, table, found: false, applied: [] };
    throw err;
  }
  const applied = rows
    .map((r) => definition.row(r))
    .filter((m): m is AppliedMigration => m !== undefined && m.id !== '');
  const history: MigrationHistory = { tool: migrations.tool, table, found: true, applied };
  if (migrations.tool === 'golang-migrate') {
    const versions = applied.map((m) => toBigInt(m.id)).filter((v): v is bigint => v !== undefined);
    if (versions.length) history.upTo = versions.reduce((a, b) => (a > b ? a : b));
  }
  return history;
}

function toBigInt(id: string): bigint | undefined {
  return /^\d+$/.test(id.trim()) ? BigInt(id.trim()) : undefined;
}

/** Whether `id` counts as applied in this history (golang-migrate: any version up to the current one). */
export function isApplied(history: MigrationHistory, id: string): boolean {
  if (history.applied.some((m) => m.id === id && !m.failed)) return true;
  if (history.upTo !== undefined) {
    const v = toBigInt(id);
    return v !== undefined && v <= history.upTo && !history.applied.some((m) => m.dirty && m.id === id);
  }
  return false;
}

/** The tool whose default history table is among these table names (for snapshots). */
export function detectMigrationTool(
  tables: ReadonlyMap<string, { name: string; columns: ReadonlyMap<string, unknown> }>,
): MigrationTool | undefined {
  const byName = new Map([...tables.values()].map((t) => [t.name.toLowerCase(), t]));
  if (byName.has('flyway_schema_history')) return 'flyway';
  if (byName.has('databasechangelog')) return 'liquibase';
  if (byName.has('knex_migrations')) return 'knex';
  if (byName.has('_prisma_migrations')) return 'prisma';
  if (byName.has('django_migrations')) return 'django';
  if (byName.has('sequelizemeta')) return 'sequelize';
  if (byName.has('__drizzle_migrations')) return 'drizzle';
  const sm = byName.get('schema_migrations');
  if (sm) return [...sm.columns.keys()].some((c) => c.toLowerCase() === 'dirty') ? 'golang-migrate' : 'rails';
  const typeorm = byName.get('migrations');
  if (typeorm && [...typeorm.columns.keys()].some((c) => c.toLowerCase() === 'timestamp')) return 'typeorm';
  return undefined;
}

/** Table names (lower case, unqualified) that hold migration bookkeeping rather than app data. */
export const BOOKKEEPING_TABLES = new Set([
  'flyway_schema_history',
  'databasechangelog',
  'databasechangeloglock',
  'knex_migrations',
  'knex_migrations_lock',
  '_prisma_migrations',
  'schema_migrations',
  'ar_internal_metadata',
  'django_migrations',
  'sequelizemeta',
  '__drizzle_migrations',
  'atlas_schema_revisions',
]);
