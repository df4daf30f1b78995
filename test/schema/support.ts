import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createConnection, type Connection } from 'mysql2/promise';
import { schemaCheckType } from '../../checks/schema';
import type { CheckReport } from '../../checks/types';
import { buildConfig } from '../../config/config';
import { silentLogger } from '../../lib/log';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable';
export const MYSQL_URL = (database: string) => `mysql://root@127.0.0.1:3306/${database}?sslmode=disable`;

const suffix = () => randomBytes(4).toString('hex');

/** A PostgreSQL schema of its own for one test, dropped afterwards. */
export interface ScratchPg {
  schema: string;
  exec(sql: string): Promise<void>;
  drop(): Promise<void>;
}

export async function scratchPg(): Promise<ScratchPg> {
  const schema = `schema_${suffix()}`;
  const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.query(`SET search_path = ${schema}`);
  return {
    schema,
    exec: async (sql) => {
      await admin.query(sql);
    },
    drop: async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** A MariaDB database of its own for one test, dropped afterwards. */
export interface ScratchMysql {
  database: string;
  url: string;
  exec(sql: string): Promise<void>;
  drop(): Promise<void>;
}

export async function scratchMysql(): Promise<ScratchMysql> {
  const database = `schema_${suffix()}`;
  const admin: Connection = await createConnection({
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    multipleStatements: true,
  });
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.query(`USE ${database}`);
  return {
    database,
    url: MYSQL_URL(database),
    exec: async (sql) => {
      await admin.query(sql);
    },
    drop: async () => {
      await admin.query(`DROP DATABASE ${database}`);
      await admin.end();
    },
  };
}

export interface RunOptions {
  targets?: Record<string, string>;
  signal?: AbortSignal;
  deadlineMs?: number;
}

/** Builds a `schema` check through the real config path and runs it once. */
export async function runSchemaCheck(
  options: Record<string, unknown>,
  run: RunOptions = {},
): Promise<CheckReport> {
  const loaded = buildConfig(
    {
      targets: run.targets ?? { test: 'http://127.0.0.1:9' },
      checks: { db: { type: 'schema', ...options } },
      hooks: { AfterAllowTestTraffic: ['db'] },
    },
    { checkTypes: [schemaCheckType] },
  );
  const [planned] = loaded.plan('AfterAllowTestTraffic');
  return planned!.check.run({
    signal: run.signal ?? new AbortController().signal,
    deadline: Date.now() + (run.deadlineMs ?? 20_000),
    targets: loaded.targets,
    deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
    log: silentLogger,
  });
}

/** The failure messages of a report, for assertions that read like the evidence. */
export function findingMessages(report: CheckReport): string[] {
  const findings = (report.details?.findings ?? []) as Array<{ severity: string; message: string }>;
  return findings.map((f) => `${f.severity}: ${f.message}`);
}
