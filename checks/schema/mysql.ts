import type { Connection, ConnectionOptions } from 'mysql2';
import { withinDeadline } from '../../lib/within-deadline';
import {
  connectError,
  driverMessage,
  SessionError,
  type ConnectionSettings,
  type DbSession,
} from './connection';
import {
  parseMysqlEnum,
  shadowTables,
  tableKey,
  typeFamily,
  type ConstraintKind,
  type LiveColumn,
  type LiveSchema,
  type LiveTable,
} from './model';

const CLIENT_TIMEOUT_SLACK_MS = 1_000;
/** How long close() waits for a polite goodbye before dropping the socket. */
const CLOSE_WAIT_MS = 1_000;

function dropConnection(connection: Connection): void {
  try {
    connection.destroy();
  } catch {
    // already gone
  }
}

/**
 * Opens a MySQL/MariaDB session that cannot write and cannot wait long: a read-only session
 * transaction mode, a per-statement time limit (MySQL MAX_EXECUTION_TIME, MariaDB
 * max_statement_time) and lock_wait_timeout.
 */
export async function openMysql(settings: ConnectionSettings, signal: AbortSignal): Promise<DbSession> {
  const mysql = await import('mysql2');
  const where = `${settings.host}:${settings.port}`;
  const options: ConnectionOptions = {
    host: settings.host,
    port: settings.port,
    user: settings.user,
    database: settings.database,
    // Our own timer (below) fires first and names the limit; this one is a backstop.
    connectTimeout: settings.connectTimeoutMs + CLIENT_TIMEOUT_SLACK_MS,
    multipleStatements: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
  };
  if (settings.password !== undefined) options.password = settings.password;
  if (settings.tls.mode !== 'disable') {
    const { tlsConnectOptions } = await import('./connection');
    const tls = (await tlsConnectOptions(settings))!;
    options.ssl = {
      rejectUnauthorized: true,
      verifyIdentity: settings.tls.mode === 'verify-full',
    } as ConnectionOptions['ssl'] & object;
    if (tls.ca) (options.ssl as Record<string, unknown>).ca = tls.ca;
  }

  const started = performance.now();
  const connection = mysql.createConnection(options);
  connection.on('error', () => {}); // surfaces through the pending call instead
  const connectSignal = AbortSignal.any([signal, AbortSignal.timeout(settings.connectTimeoutMs)]);
  try {
    await withinDeadline(
      new Promise<void>((resolve, reject) => connection.connect((err) => (err ? reject(err) : resolve()))),
      { signal: connectSignal, onAbort: () => dropConnection(connection) },
    );
  } catch (err) {
    dropConnection(connection);
    throw connectError(settings, err, {
      stopped: signal.aborted,
      timedOut: connectSignal.aborted,
      ms: Math.round(performance.now() - started),
    });
  }

  let roundTrips = 0;
  const query = async <T extends Record<string, unknown>>(
    sql: string,
    params: unknown[] = [],
  ): Promise<T[]> => {
    roundTrips++;
    const work = new Promise<T[]>((resolve, reject) =>
      connection.query(
        { sql, values: params, timeout: settings.statementTimeoutMs + CLIENT_TIMEOUT_SLACK_MS },
        (err, rows) => (err ? reject(err) : resolve(rows as T[])),
      ),
    );
    try {
      return await withinDeadline(work, { signal, onAbort: () => dropConnection(connection) });
    } catch (err) {
      if (signal.aborted) throw new SessionError(`MySQL at ${where}: stopped`, { cause: err });
      throw Object.assign(new SessionError(`MySQL at ${where}: ${driverMessage(err)}`, { cause: err }), {
        code: (err as { code?: string }).code,
      });
    }
  };

  try {
    await query('SET SESSION TRANSACTION READ ONLY');
    const [info] = await query<{
      version: string;
      db: string;
      user: string;
      sqlMode: string;
      lctn: number | string;
    }>(
      'SELECT VERSION() AS version, DATABASE() AS db, CURRENT_USER() AS user, @@SESSION.sql_mode AS sqlMode, @@lower_case_table_names AS lctn',
    );
    const version = String(info?.version ?? '');
    const mariadb = /mariadb/i.test(version);
    const lockSeconds = Math.max(1, Math.ceil(settings.lockTimeoutMs / 1_000));
    // MariaDB limits every statement (seconds); MySQL's MAX_EXECUTION_TIME covers SELECTs (ms), the only statements sent.
    await query(
      mariadb
        ? `SET SESSION max_statement_time = ${(settings.statementTimeoutMs / 1_000).toFixed(3)}, SESSION lock_wait_timeout = ${lockSeconds}`
        : `SET SESSION max_execution_time = ${Math.trunc(settings.statementTimeoutMs)}, SESSION lock_wait_timeout = ${lockSeconds}`,
    );
    const [ro] = await query<{ ro: number | string }>(
      mariadb ? 'SELECT @@SESSION.tx_read_only AS ro' : 'SELECT @@SESSION.transaction_read_only AS ro',
    );
    return {
      engine: 'mysql',
      settings,
      serverVersion: version,
      mariadb,
      database: String(info?.db ?? settings.database),
      currentUser: String(info?.user ?? settings.user),
      sqlMode: String(info?.sqlMode ?? ''),
      lowerCaseTableNames: Number(info?.lctn ?? 0),
      readOnly: Number(ro?.ro) === 1,
      get roundTrips() {
        return roundTrips;
      },
      query,
      async close() {
        const ended = new Promise<void>((resolve) => connection.end(() => resolve()));
        await withinDeadline(ended, { timeoutMs: CLOSE_WAIT_MS, unref: true }).catch(() => {});
        dropConnection(connection);
      },
    };
  } catch (err) {
    dropConnection(connection);
    throw err;
  }
}

const CONSTRAINT_KINDS: Record<string, ConstraintKind> = {
  'PRIMARY KEY': 'primary-key',
  UNIQUE: 'unique',
  'FOREIGN KEY': 'foreign-key',
  CHECK: 'check',
};

/**
 * Reads every table, column and constraint of the connection's database, and of the other
 * databases a contract names (`audit.events`: in MySQL a schema is a database), from
 * information_schema (TABLES, VIEWS, COLUMNS, TABLE_CONSTRAINTS, CHECK_CONSTRAINTS,
 * KEY_COLUMN_USAGE), one query each whatever the number of tables, plus the process list for
 * DDL in flight.
 */
export async function introspectMysql(
  session: DbSession,
  named: readonly string[] = [],
): Promise<LiveSchema> {
  const before = session.roundTrips;
  const others = [...new Set(named)].filter((n) => n !== session.database);
  // `= DATABASE()` alone when nothing else is named: the server then opens one database's tables only.
  const inSchemas = (column: string) =>
    others.length
      ? `${column} IN (DATABASE(), ${others.map(() => '?').join(', ')})`
      : `${column} = DATABASE()`;
  const tables = await session.query<{ db: string; name: string; type: string }>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, TABLE_TYPE AS type FROM information_schema.TABLES WHERE ${inSchemas('TABLE_SCHEMA')}`,
    others,
  );
  const views = await session.query<{ name: string; updatable: string }>(
    `SELECT TABLE_NAME AS name, IS_UPDATABLE AS updatable FROM information_schema.VIEWS WHERE ${inSchemas('TABLE_SCHEMA')}`,
    others,
  );
  const columns = await session.query<{
    db: string;
    tbl: string;
    name: string;
    columnType: string;
    nullable: string;
    def: string | null;
    extra: string;
  }>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS name, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable,
            COLUMN_DEFAULT AS def, EXTRA AS extra
     FROM information_schema.COLUMNS WHERE ${inSchemas('TABLE_SCHEMA')}`,
    others,
  );
  // Separate queries, not a join: MariaDB joins two information_schema tables row by row, which
  // costs seconds on a few thousand tables.
  const constraints = await session.query<{ db: string; tbl: string; name: string; kind: string }>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, CONSTRAINT_TYPE AS kind FROM information_schema.TABLE_CONSTRAINTS WHERE ${inSchemas('TABLE_SCHEMA')}`,
    others,
  );
  // MariaDB names CHECK constraints per table, MySQL per schema (and has no TABLE_NAME here).
  const checks = await session.query<{ db: string; tbl: string | null; name: string; clause: string }>(
    session.mariadb
      ? `SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE ${inSchemas('CONSTRAINT_SCHEMA')}`
      : `SELECT CONSTRAINT_SCHEMA AS db, NULL AS tbl, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS WHERE ${inSchemas('CONSTRAINT_SCHEMA')}`,
    others,
  );
  const keyColumns = await session.query<{ db: string; tbl: string; name: string; col: string }>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, COLUMN_NAME AS col
     FROM information_schema.KEY_COLUMN_USAGE WHERE ${inSchemas('TABLE_SCHEMA')} ORDER BY ORDINAL_POSITION`,
    others,
  );
  const ddl = await session.query<{ id: number; seconds: number; info: string }>(
    `SELECT ID AS id, TIME AS seconds, LEFT(INFO, 160) AS info FROM information_schema.PROCESSLIST
     WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'
       AND INFO REGEXP '^[[:space:]]*(ALTER[[:space:]]+TABLE|CREATE[[:space:]]+(UNIQUE[[:space:]]+)?INDEX|DROP[[:space:]]+INDEX|OPTIMIZE[[:space:]]+TABLE)'`,
  );

  const database = session.database;
  const live: LiveSchema = {
    engine: 'mysql',
    serverVersion: session.serverVersion,
    database,
    schemas: [database, ...others],
    tables: new Map(),
    caseInsensitiveTables: (session.lowerCaseTableNames ?? 0) > 0,
    caseInsensitiveColumns: true,
    strictWrites: /STRICT_(TRANS|ALL)_TABLES/i.test(session.sqlMode ?? ''),
    sqlMode: session.sqlMode ?? '',
    inFlight: [],
    notes: [],
    queries: 0,
  };
  for (const t of tables) {
    const isView = t.type === 'VIEW';
    const table: LiveTable = {
      schema: t.db,
      name: t.name,
      kind: isView ? 'view' : 'table',
      columns: new Map(),
      constraints: [],
    };
    live.tables.set(tableKey(live, t.db, t.name), table);
  }
  // Writes through MySQL views are not modelled (a view satisfies reads only); which views the
  // server calls updatable is kept for the record.
  const updatableViews = views.filter((v) => v.updatable === 'YES').map((v) => v.name);
  if (updatableViews.length)
    live.notes.push(
      `updatable views treated as read-only: ${updatableViews.slice(0, 10).join(', ')}${updatableViews.length > 10 ? ', ...' : ''}`,
    );
  for (const c of columns) {
    const table = live.tables.get(tableKey(live, c.db, c.tbl));
    if (!table) continue;
    const extra = c.extra ?? '';
    const generated = /\b(VIRTUAL|STORED|PERSISTENT) GENERATED\b/i.test(extra);
    const autoIncrement = /auto_increment/i.test(extra);
    const notNull = c.nullable === 'NO';
    const column: LiveColumn = {
      name: c.name,
      type: c.columnType,
      family: typeFamily(c.columnType),
      notNull,
      // MariaDB prints an explicit DEFAULT NULL as the text 'NULL'; SQL NULL means no default.
      hasDefault: c.def !== null,
      generated,
      identity: autoIncrement ? 'by-default' : null,
      writable: table.kind === 'table' && !generated,
    };
    const values = /^enum\(/i.test(c.columnType) ? parseMysqlEnum(c.columnType) : undefined;
    if (values) column.enumValues = values;
    table.columns.set(c.name.toLowerCase(), column);
  }
  const clauses = new Map(
    checks.map((c) => [c.tbl === null ? `${c.db}\0${c.name}` : `${c.db}\0${c.tbl}\0${c.name}`, c.clause]),
  );
  const byName = new Map<
    string,
    { db: string; tbl: string; name: string; kind: ConstraintKind; clause: string | null; columns: string[] }
  >();
  for (const k of constraints) {
    const kind = CONSTRAINT_KINDS[k.kind] ?? 'check';
    const clause =
      kind === 'check'
        ? (clauses.get(`${k.db}\0${k.tbl}\0${k.name}`) ?? clauses.get(`${k.db}\0${k.name}`) ?? null)
        : null;
    byName.set(`${k.db}\0${k.tbl}\0${k.name}`, { ...k, kind, clause, columns: [] });
  }
  for (const k of keyColumns) byName.get(`${k.db}\0${k.tbl}\0${k.name}`)?.columns.push(k.col);
  for (const k of byName.values()) {
    const table = live.tables.get(tableKey(live, k.db, k.tbl));
    if (!table) continue;
    let cols = k.columns;
    if (k.kind === 'check' && k.clause) {
      // CHECK_CONSTRAINTS lists no columns: take the identifiers of this table the clause names.
      const named = new Set(
        [...k.clause.matchAll(/`([^`]+)`|\b([A-Za-z_][A-Za-z0-9_$]*)\b/g)].map((m) =>
          (m[1] ?? m[2]!).toLowerCase(),
        ),
      );
      cols = [...table.columns.values()].filter((c) => named.has(c.name.toLowerCase())).map((c) => c.name);
    }
    const constraint = {
      name: k.name,
      kind: k.kind,
      columns: cols,
      validated: true,
    } as LiveTable['constraints'][number];
    if (k.clause) constraint.definition = `CHECK (${k.clause})`;
    table.constraints.push(constraint);
  }

  for (const table of live.tables.values())
    table.constraints.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  live.inFlight.push(...shadowTables(live.tables.values(), live.caseInsensitiveTables));
  for (const d of ddl) {
    live.inFlight.push({
      tool: 'ddl',
      subject: `thread ${d.id}`,
      detail: `thread ${d.id} has been running "${String(d.info).replace(/\s+/g, ' ').trim()}" for ${d.seconds} s`,
    });
  }
  live.queries = session.roundTrips - before;
  return live;
}
