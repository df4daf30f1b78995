import { randomBytes } from 'node:crypto';
import { connectionSchema, resolveConnection, type DbSession } from '../checks/schema/connection';
import { openSession } from '../checks/schema/open-session';
import { introspect } from '../checks/schema/introspect';
import type { Engine } from '../checks/schema/model';
import type { Bench, BenchFigure } from './harness';
import { median } from './harness';

const TABLES = 2_000;
const COLUMNS = 20;
const ROUNDS = 5;
const TARGET_MS = 1_000;
const BATCH = 250;
/** PostgreSQL: pg_class, pg_attribute, pg_constraint, pg_enum, pg_stat_activity. MySQL: TABLES, VIEWS, COLUMNS, TABLE_CONSTRAINTS, CHECK_CONSTRAINTS, KEY_COLUMN_USAGE, PROCESSLIST. */
const CATALOG_QUERIES: Record<Engine, number> = { postgres: 5, mysql: 7 }; // CREATE TABLE statements per round trip while building

function columnsDdl(engine: Engine): string {
  const cols = ['id bigint PRIMARY KEY'];
  for (let c = 1; c < COLUMNS; c++) {
    const type =
      c % 4 === 0
        ? 'integer'
        : c % 4 === 1
          ? 'varchar(100)'
          : c % 4 === 2
            ? engine === 'postgres'
              ? 'timestamptz'
              : 'datetime'
            : 'boolean';
    cols.push(`c${c} ${type}${c % 3 === 0 ? ' NOT NULL' : ''}`);
  }
  return cols.join(', ');
}

async function openAdmin(
  engine: Engine,
  database: string,
): Promise<{ exec(sql: string): Promise<void>; close(): Promise<void> }> {
  if (engine === 'postgres') {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    // Scratch tables need no durability: do not wait for the WAL flush on each batch.
    await client.query('SET synchronous_commit = off');
    return { exec: async (sql) => void (await client.query(sql)), close: () => client.end() };
  }
  const mysql = await import('mysql2/promise');
  const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root', multipleStatements: true });
  await conn.query(`CREATE DATABASE ${database}`);
  await conn.query(`USE ${database}`);
  return { exec: async (sql) => void (await conn.query(sql)), close: () => conn.end() };
}

async function session(engine: Engine, database: string): Promise<DbSession> {
  const url =
    engine === 'postgres'
      ? 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
      : `mysql://root@127.0.0.1:3306/${database}?sslmode=disable`;
  const settings = resolveConnection(connectionSchema.parse({ url, statementTimeoutMs: 30_000 }));
  if ('field' in settings) throw new Error(settings.message);
  return openSession(settings, new AbortController().signal);
}

/** One information_schema query per table: what the check avoids, timed over the same tables. */
async function perTableBaseline(s: DbSession, engine: Engine, scratch: string): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < TABLES; i++) {
    if (engine === 'postgres') {
      await s.query(
        'SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
        [scratch, `t${i}`],
      );
    } else {
      await s.query(
        'SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [`t${i}`],
      );
    }
  }
  return performance.now() - t0;
}

async function measure(engine: Engine): Promise<BenchFigure[]> {
  const scratch = `schema_bench_${randomBytes(4).toString('hex')}`;
  const admin = await openAdmin(engine, scratch);
  const label = engine === 'postgres' ? 'PostgreSQL' : 'MariaDB';
  let s: DbSession | undefined;
  try {
    if (engine === 'postgres') await admin.exec(`CREATE SCHEMA ${scratch}`);
    const prefix = engine === 'postgres' ? `${scratch}.` : '';
    const cols = columnsDdl(engine);
    const buildStart = performance.now();
    for (let from = 0; from < TABLES; from += BATCH) {
      const statements = [];
      for (let i = from; i < Math.min(TABLES, from + BATCH); i++)
        statements.push(`CREATE TABLE ${prefix}t${i} (${cols})`);
      await admin.exec(statements.join(';\n'));
    }
    process.stderr.write(
      `  ${label}: built ${TABLES} tables x ${COLUMNS} columns in ${Math.round(performance.now() - buildStart)} ms\n`,
    );

    s = await session(engine, scratch);
    const times: number[] = [];
    let queries = 0;
    let columns = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const live = await introspect(s, [scratch]);
      times.push(performance.now() - t0);
      queries = live.queries;
      columns = [...live.tables.values()].reduce((n, t) => n + t.columns.size, 0);
      if (live.tables.size !== TABLES || columns !== TABLES * COLUMNS)
        throw new Error(`${label}: introspected ${live.tables.size} tables, ${columns} columns`);
    }
    const baseline = await perTableBaseline(s, engine, scratch);
    const ms = median(times);
    return [
      {
        name: `${label}: introspect ${TABLES} tables x ${COLUMNS} columns`,
        value: ms,
        unit: 'ms',
        baseline: { name: 'one information_schema query per table', value: baseline, unit: 'ms' },
        target: `≤ ${TARGET_MS} ms`,
        ok: ms <= TARGET_MS,
      },
      {
        name: `${label}: round trips per introspection`,
        value: queries,
        unit: 'queries',
        baseline: { name: 'per-table approach', value: TABLES, unit: 'queries' },
        target: `${CATALOG_QUERIES[engine]} (one per catalog query)`,
        ok: queries === CATALOG_QUERIES[engine],
      },
    ];
  } finally {
    await s?.close();
    if (engine === 'postgres') {
      // One DROP SCHEMA ... CASCADE would lock every table, index and TOAST table at once,
      // more than max_locks_per_transaction allows: drop in batches first.
      for (let from = 0; from < TABLES; from += BATCH) {
        const names = Array.from(
          { length: Math.min(BATCH, TABLES - from) },
          (_, i) => `${scratch}.t${from + i}`,
        );
        await admin.exec(`DROP TABLE IF EXISTS ${names.join(', ')}`);
      }
      await admin.exec(`DROP SCHEMA ${scratch} CASCADE`);
    } else {
      await admin.exec(`DROP DATABASE ${scratch}`);
    }
    await admin.close();
  }
}

/** Introspection of a large schema: time and round trips on PostgreSQL and MariaDB. */
export const schemaBench: Bench = {
  id: 'schema',
  title: `schema introspection of ${TABLES} tables x ${COLUMNS} columns`,
  async run() {
    return [...(await measure('postgres')), ...(await measure('mysql'))];
  },
};
