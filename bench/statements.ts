import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionSchema, resolveConnection, type DbSession } from '../checks/schema/connection';
import { openSession } from '../checks/schema/open-session';
import { introspect } from '../checks/schema/introspect';
import type { Engine } from '../checks/schema/model';
import { checkStatements } from '../checks/schema/check-statements';
import { RECORDED_FORMAT } from '../checks/schema/recorded-statements';
import type { Bench, BenchFigure } from './harness';
import { median } from './harness';

const STATEMENTS = 1_000;
const TABLES = 50;
const COLUMNS = 10;
const ROUNDS = 3;
const TARGET_MS = 2_000;

/** 1,000 distinct statements over the scratch tables: reads, joins, inserts and updates. */
function statements(engine: Engine): string[] {
  const p = (n: number) => (engine === 'postgres' ? `$${n}` : '?');
  const out: string[] = [];
  for (let i = 0; i < STATEMENTS; i++) {
    // Distinct by their names, as literals would be normalised away: (table, column) per kind.
    const k = Math.floor(i / 4);
    const t = `t${k % TABLES}`;
    const u = `t${(k + 1) % TABLES}`;
    const a = `c${1 + (Math.floor(k / TABLES) % (COLUMNS - 1))}`;
    const b = `c${1 + ((k * 7) % (COLUMNS - 1))}`;
    switch (i % 4) {
      case 0:
        out.push(`SELECT id, ${a}, ${b} AS v${i} FROM ${t} WHERE id = ${p(1)}`);
        break;
      case 1:
        out.push(
          `SELECT x.${a}, y.${b} AS v${i} FROM ${t} x JOIN ${u} y ON y.id = x.id WHERE x.${a} = ${p(1)}`,
        );
        break;
      case 2:
        out.push(`INSERT INTO ${t} (id, ${a}) VALUES (${p(1)}, ${p(2)})`);
        break;
      default:
        out.push(`UPDATE ${t} SET ${a} = ${p(1)} WHERE id = ${p(2)}`);
    }
  }
  return out;
}

async function measure(engine: Engine): Promise<BenchFigure> {
  const scratch = `stmt_bench_${randomBytes(4).toString('hex')}`;
  const label = engine === 'postgres' ? 'PostgreSQL' : 'MariaDB';
  const cols = [
    'id bigint PRIMARY KEY',
    ...Array.from({ length: COLUMNS - 1 }, (_, c) => `c${c + 1} integer`),
  ];
  const ddl = Array.from({ length: TABLES }, (_, i) => `CREATE TABLE t${i} (${cols.join(', ')})`).join(';\n');
  const dir = mkdtempSync(join(tmpdir(), 'stmt-bench-'));
  const file = join(dir, 'recorded.json');
  let admin: { exec(sql: string): Promise<void>; close(): Promise<void> };
  let url: string;
  if (engine === 'postgres') {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    admin = { exec: async (sql) => void (await client.query(sql)), close: () => client.end() };
    await admin.exec(`CREATE SCHEMA ${scratch}; SET search_path = ${scratch}; ${ddl}`);
    url = 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable';
  } else {
    const mysql = await import('mysql2/promise');
    const conn = await mysql.createConnection({ host: '127.0.0.1', user: 'root', multipleStatements: true });
    admin = { exec: async (sql) => void (await conn.query(sql)), close: () => conn.end() };
    await admin.exec(`CREATE DATABASE ${scratch}; USE ${scratch}; ${ddl}`);
    url = `mysql://root@127.0.0.1:3306/${scratch}?sslmode=disable`;
  }
  const texts = statements(engine);
  writeFileSync(
    file,
    JSON.stringify({
      format: RECORDED_FORMAT,
      engine,
      database: scratch,
      source: engine === 'postgres' ? 'pg_stat_statements' : 'performance_schema',
      recordedAt: new Date().toISOString(),
      statements: texts.map((text, i) => ({ text, calls: STATEMENTS - i })),
    }),
  );
  const settings = resolveConnection(connectionSchema.parse({ url }));
  if ('field' in settings) throw new Error(settings.message);
  let session: DbSession | undefined;
  try {
    session = await openSession(settings, new AbortController().signal);
    const live = await introspect(session, [scratch]);
    const times: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      const result = await checkStatements({
        session,
        live,
        option: { recorded: file },
        searchPath: [scratch],
      });
      times.push(performance.now() - t0);
      // Every statement checked, none broken, none left out (MariaDB checks writes without preparing them).
      if (result.checked !== STATEMENTS || result.findings.length || result.details.notChecked)
        throw new Error(`${label}: ${JSON.stringify(result.details)}`);
    }
    const ms = median(times);
    return {
      name: `${label}: prepare ${STATEMENTS} recorded statements`,
      value: ms,
      unit: 'ms',
      target: `≤ ${TARGET_MS} ms`,
      ok: ms <= TARGET_MS,
    };
  } finally {
    await session?.close();
    await admin.exec(engine === 'postgres' ? `DROP SCHEMA ${scratch} CASCADE` : `DROP DATABASE ${scratch}`);
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Preparing the application's statements: one round trip each, on PostgreSQL and MariaDB. */
export const statementsBench: Bench = {
  id: 'statements',
  title: `prepare ${STATEMENTS} application statements against the live schema`,
  async run() {
    return [await measure('postgres'), await measure('mysql')];
  },
};
