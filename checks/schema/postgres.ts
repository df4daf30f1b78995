import type { Client, ClientConfig } from 'pg';
import { withinDeadline } from '../../lib/within-deadline';
import {
  connectError,
  driverMessage,
  SessionError,
  tlsConnectOptions,
  type ConnectionSettings,
  type DbSession,
} from './connection';
import {
  shadowTables,
  tableKey,
  typeFamily,
  type ConstraintKind,
  type InFlightChange,
  type LiveColumn,
  type LiveSchema,
  type LiveTable,
  type RelationKind,
} from './model';

/** Slack the client-side query timer gives the server's statement_timeout to answer first. */
const CLIENT_TIMEOUT_SLACK_MS = 1_000;
/** How long close() waits for a polite goodbye before dropping the socket. */
const CLOSE_WAIT_MS = 1_000;

function dropConnection(client: Client): void {
  // end() waits for the server; a hung or unwanted connection is cut at the socket.
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  client.end().catch(() => {});
}

/**
 * Opens a PostgreSQL session that cannot write and cannot wait long: read-only by default,
 * statement_timeout, lock_timeout and idle_in_transaction_session_timeout, set in one round trip
 * and read back.
 */
export async function openPostgres(settings: ConnectionSettings, signal: AbortSignal): Promise<DbSession> {
  const { Client } = await import('pg');
  const where = `${settings.host}:${settings.port}`;
  const ssl = await tlsConnectOptions(settings);
  const config: ClientConfig = {
    host: settings.host,
    port: settings.port,
    user: settings.user,
    database: settings.database,
    ssl: ssl ?? false,
    connectionTimeoutMillis: settings.connectTimeoutMs + CLIENT_TIMEOUT_SLACK_MS, // a backstop: our own timer names the limit
    query_timeout: settings.statementTimeoutMs + CLIENT_TIMEOUT_SLACK_MS,
    application_name: 'greenlight schema check',
  };
  if (settings.password !== undefined) config.password = settings.password;
  const client = new Client(config);
  client.on('error', () => {}); // a dropped socket surfaces through the pending query instead

  const started = performance.now();
  const connectSignal = AbortSignal.any([signal, AbortSignal.timeout(settings.connectTimeoutMs)]);
  try {
    await withinDeadline(client.connect(), { signal: connectSignal, onAbort: () => dropConnection(client) });
  } catch (err) {
    dropConnection(client);
    throw connectError(settings, err, {
      stopped: signal.aborted,
      timedOut: connectSignal.aborted,
      ms: Math.round(performance.now() - started),
    });
  }

  let roundTrips = 0;
  const query = async <T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> => {
    roundTrips++;
    try {
      const result = await withinDeadline(client.query(sql, params), {
        signal,
        onAbort: () => dropConnection(client),
      });
      return (Array.isArray(result) ? result[result.length - 1].rows : result.rows) as T[];
    } catch (err) {
      if (signal.aborted) throw new SessionError(`PostgreSQL at ${where}: stopped`, { cause: err });
      throw Object.assign(new SessionError(`PostgreSQL at ${where}: ${driverMessage(err)}`, { cause: err }), {
        code: (err as { code?: string }).code,
      });
    }
  };

  const ms = (n: number) => String(Math.trunc(n));
  let setup: Array<Record<string, unknown>>;
  try {
    setup = await query(
      `SET default_transaction_read_only = on;
       SET statement_timeout = ${ms(settings.statementTimeoutMs)};
       SET lock_timeout = ${ms(settings.lockTimeoutMs)};
       SET idle_in_transaction_session_timeout = ${ms(settings.statementTimeoutMs)};
       SELECT current_setting('default_transaction_read_only') AS read_only, current_setting('server_version') AS version,
              current_database() AS database, current_user AS "user"`,
    );
  } catch (err) {
    dropConnection(client);
    throw err;
  }
  const row = setup[0] ?? {};
  return {
    engine: 'postgres',
    settings,
    serverVersion: String(row.version ?? ''),
    mariadb: false,
    database: String(row.database ?? settings.database),
    currentUser: String(row.user ?? settings.user),
    readOnly: row.read_only === 'on',
    get roundTrips() {
      return roundTrips;
    },
    query,
    async close() {
      await withinDeadline(client.end(), { timeoutMs: CLOSE_WAIT_MS, unref: true }).catch(() => {});
      dropConnection(client);
    },
  };
}

const RELKINDS: Record<string, RelationKind> = {
  r: 'table',
  p: 'table',
  v: 'view',
  m: 'materialized view',
  f: 'foreign table',
};
const CONTYPES: Record<string, ConstraintKind> = {
  c: 'check',
  f: 'foreign-key',
  u: 'unique',
  p: 'primary-key',
  x: 'exclusion',
};

// pg_catalog, not information_schema: information_schema.columns hides the columns of tables the
// role has no privilege on, which would make a present column look dropped.
const RELATIONS_SQL = `
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`;

// A domain may sit on another domain: the chain is followed down to the base type, which decides
// the family and the exact type, while NOT NULL and a default anywhere along it still count.
const COLUMNS_SQL = `
WITH RECURSIVE domain_chain AS (
  SELECT d.oid AS domain, d.typbasetype AS base, d.typtypmod AS typmod,
         d.typnotnull AS not_null, d.typdefault IS NOT NULL AS has_default
  FROM pg_catalog.pg_type d WHERE d.typtype = 'd'
  UNION ALL
  SELECT c.domain, d.typbasetype, d.typtypmod, c.not_null OR d.typnotnull, c.has_default OR d.typdefault IS NOT NULL
  FROM domain_chain c JOIN pg_catalog.pg_type d ON d.oid = c.base AND d.typtype = 'd'
), domain_base AS (
  SELECT c.* FROM domain_chain c JOIN pg_catalog.pg_type b ON b.oid = c.base AND b.typtype <> 'd'
)
SELECT a.attrelid::int8 AS rel, a.attnum AS num, a.attname AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       CASE WHEN db.domain IS NOT NULL THEN t.typname END AS domain_name, tn.nspname AS domain_schema,
       pg_catalog.format_type(db.base, db.typmod) AS base_type,
       bt.oid::int8 AS type_oid, bt.typtype AS typtype, bt.typcategory AS category,
       a.attnotnull AS not_null, (a.atthasdef OR coalesce(db.has_default, false)) AS has_default,
       coalesce(db.not_null, false) AS domain_not_null,
       a.attidentity AS identity, a.attgenerated AS generated,
       CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_column_is_updatable(c.oid, a.attnum, true) END AS view_updatable
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
LEFT JOIN domain_base db ON db.domain = a.atttypid
JOIN pg_catalog.pg_type bt ON bt.oid = coalesce(db.base, a.atttypid)
WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped`;

const CONSTRAINTS_SQL = `
SELECT con.conrelid::int8 AS rel, con.conname AS name, con.contype AS kind, con.convalidated AS validated,
       con.conkey AS columns, pg_catalog.pg_get_constraintdef(con.oid, true) AS definition
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND con.contype IN ('c', 'f', 'u', 'p', 'x')`;

const ENUMS_SQL = `
SELECT t.oid::int8 AS oid, n.nspname AS schema, t.typname AS name,
       array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
FROM pg_catalog.pg_enum e
JOIN pg_catalog.pg_type t ON t.oid = e.enumtypid
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
GROUP BY t.oid, n.nspname, t.typname`;

// DDL other sessions are running now; without pg_read_all_stats the query text of other roles'
// sessions reads '<insufficient privilege>', which is counted and noted.
const IN_FLIGHT_SQL = `
SELECT pg_catalog.to_regclass('pgroll.migrations') IS NOT NULL AS pgroll,
       (SELECT count(*) FROM pg_catalog.pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = '<insufficient privilege>')::int AS hidden,
       (SELECT coalesce(json_agg(json_build_object('pid', pid, 'seconds', round(extract(epoch FROM now() - query_start))::int,
                                                   'query', left(query, 160))), '[]')
          FROM pg_catalog.pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
           AND query ~* '^\\s*(alter\\s+table|create\\s+(unique\\s+)?index|drop\\s+index|reindex|cluster|vacuum\\s+full|alter\\s+type)') AS ddl`;

/**
 * Reads every table, column, constraint and enum of the given schemas from pg_catalog, one
 * query per catalog whatever the number of tables, plus one query for schema changes in flight.
 */
export async function introspectPostgres(
  session: DbSession,
  schemas: readonly string[],
): Promise<LiveSchema> {
  const before = session.roundTrips;
  const params = [schemas];
  const relations = await session.query<{ oid: string; schema: string; name: string; kind: string }>(
    RELATIONS_SQL,
    params,
  );
  const columns = await session.query<{
    rel: string;
    num: number;
    name: string;
    type: string;
    domain_name: string | null;
    domain_schema: string;
    base_type: string | null;
    type_oid: string;
    typtype: string;
    category: string;
    not_null: boolean;
    has_default: boolean;
    domain_not_null: boolean;
    identity: string;
    generated: string;
    view_updatable: boolean | null;
  }>(COLUMNS_SQL, params);
  const constraints = await session.query<{
    rel: string;
    name: string;
    kind: string;
    validated: boolean;
    columns: number[] | null;
    definition: string;
  }>(CONSTRAINTS_SQL, params);
  const enums = await session.query<{ oid: string; schema: string; name: string; labels: string[] }>(
    ENUMS_SQL,
  );
  const flight = await session.query<{
    pgroll: boolean;
    hidden: number;
    ddl: Array<{ pid: number; seconds: number; query: string }>;
  }>(IN_FLIGHT_SQL);

  const live: LiveSchema = {
    engine: 'postgres',
    serverVersion: session.serverVersion,
    database: session.database,
    schemas: [...schemas],
    tables: new Map(),
    caseInsensitiveTables: false,
    caseInsensitiveColumns: false,
    strictWrites: true,
    inFlight: [],
    notes: [],
    queries: 0,
  };
  const byOid = new Map<string, LiveTable>();
  for (const r of relations) {
    const table: LiveTable = {
      schema: r.schema,
      name: r.name,
      kind: RELKINDS[r.kind] ?? 'table',
      columns: new Map(),
      constraints: [],
    };
    byOid.set(String(r.oid), table);
    live.tables.set(tableKey(live, r.schema, r.name), table);
  }
  const enumById = new Map(enums.map((e) => [String(e.oid), e]));
  const attnames = new Map<string, string>();
  for (const c of columns) {
    const table = byOid.get(String(c.rel));
    if (!table) continue;
    const enumType = c.typtype === 'e' ? enumById.get(String(c.type_oid)) : undefined;
    const generated = c.generated !== '' && c.generated !== undefined && c.generated !== null;
    const isView = table.kind === 'view';
    const column: LiveColumn = {
      name: c.name,
      type: c.type,
      family: enumType ? 'enum' : c.category === 'A' ? 'array' : typeFamily(c.base_type ?? c.type),
      notNull: c.not_null || c.domain_not_null,
      hasDefault: c.has_default,
      generated,
      identity: c.identity === 'a' ? 'always' : c.identity === 'd' ? 'by-default' : null,
      writable: isView
        ? c.view_updatable === true
        : table.kind === 'table' || table.kind === 'foreign table'
          ? !generated
          : false,
    };
    if (c.domain_name !== null && c.base_type !== null) {
      column.domain = localName(c.domain_schema, c.domain_name, table.schema);
      column.baseType = c.base_type;
    }
    if (enumType) {
      column.enumValues = enumType.labels;
      column.enumType = localName(enumType.schema, enumType.name, table.schema);
    }
    table.columns.set(c.name, column);
    attnames.set(`${c.rel}:${c.num}`, c.name);
  }
  for (const k of constraints) {
    const table = byOid.get(String(k.rel));
    if (!table) continue;
    table.constraints.push({
      name: k.name,
      kind: CONTYPES[k.kind] ?? 'check',
      columns: (k.columns ?? [])
        .map((n) => attnames.get(`${k.rel}:${n}`))
        .filter((n): n is string => n !== undefined),
      validated: k.validated,
      definition: k.definition,
    });
  }

  for (const table of live.tables.values())
    table.constraints.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  live.inFlight.push(...shadowTables(live.tables.values(), false));
  const state = flight[0];
  for (const d of state?.ddl ?? []) {
    live.inFlight.push({
      tool: 'ddl',
      subject: `pid ${d.pid}`,
      detail: `session ${d.pid} has been running "${d.query.replace(/\s+/g, ' ').trim()}" for ${d.seconds} s`,
    });
  }
  if (state && state.hidden > 0) {
    live.notes.push(
      `${state.hidden} other session(s) hidden from this role (grant pg_read_all_stats to see DDL in flight)`,
    );
  }
  if (state?.pgroll) {
    const pgroll = await pgrollInFlight(session);
    live.inFlight.push(...pgroll.changes);
    if (pgroll.note) live.notes.push(pgroll.note);
  }
  live.queries = session.roundTrips - before;
  return live;
}

/** A type's name as the table's own schema sees it: unqualified in `public` or that schema. */
function localName(schema: string, name: string, tableSchema: string): string {
  return schema === 'public' || schema === tableSchema ? name : `${schema}.${name}`;
}

async function pgrollInFlight(session: DbSession): Promise<{ changes: InFlightChange[]; note?: string }> {
  try {
    const rows = await session.query<{ schema: string; name: string }>(
      'SELECT schema, name FROM pgroll.migrations WHERE done = false',
    );
    const changes = rows.map((r) => ({
      tool: 'pgroll' as const,
      subject: `${r.schema}.${r.name}`,
      detail: `pgroll migration ${r.name} on schema ${r.schema} is started and not completed: completing it removes the old version's view of the schema`,
    }));
    return { changes };
  } catch (err) {
    return {
      changes: [],
      note: `pgroll.migrations exists but could not be read (grant SELECT on it): ${(err as Error).message}`,
    };
  }
}
