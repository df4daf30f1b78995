import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);

/** A database of its own on the machine's PostgreSQL, for one test file. */
export interface LiveDatabase {
  name: string;
  /** The URL greenlight is given. */
  url: string;
  exec(sql: string): Promise<void>;
  query<T>(sql: string): Promise<T[]>;
  /** `pg_dump --schema-only` of the database: the live schema, byte for byte. */
  dump(): Promise<string>;
  drop(): Promise<void>;
}

export async function createLiveDatabase(prefix = 'rehearse'): Promise<LiveDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const client = new Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${name}` });
  await client.connect();
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}?sslmode=disable`,
    exec: async (sql) => {
      await client.query(sql);
    },
    query: async <T>(sql: string) => (await client.query(sql)).rows as T[],
    dump: async () =>
      (
        await run(
          'pg_dump',
          ['--schema-only', '--restrict-key=greenlight', '-h', '127.0.0.1', '-U', 'postgres', name],
          {
            maxBuffer: 64 * 1024 * 1024,
          },
        )
      ).stdout,
    drop: async () => {
      await client.end();
      const a = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/**
 * The application's schema before the release: users with `firstname`, orders, an enum, a
 * domain, a sequence, a view, and flyway's history with V1 and V2 applied.
 */
export const APP_SCHEMA = `
CREATE TYPE mood AS ENUM ('ok', 'meh');
CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%');
CREATE SEQUENCE invoice_no START 1000;
CREATE TABLE users (
  id bigserial PRIMARY KEY,
  firstname text NOT NULL,
  email email_address UNIQUE,
  mood mood DEFAULT 'ok',
  created_at timestamptz NOT NULL DEFAULT now(),
  api_token text
);
CREATE TABLE orders (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id),
  total numeric(10, 2) CHECK (total >= 0),
  invoice int DEFAULT nextval('invoice_no')
);
CREATE INDEX orders_user_idx ON orders (user_id);
CREATE VIEW user_emails AS SELECT id, email FROM users;
CREATE TABLE flyway_schema_history (
  installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
  type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int,
  installed_by varchar(100) NOT NULL, installed_on timestamp NOT NULL DEFAULT now(),
  execution_time int NOT NULL, success boolean NOT NULL
);
INSERT INTO flyway_schema_history VALUES
  (1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'app', now(), 10, true),
  (2, '2', 'orders', 'SQL', 'V2__orders.sql', 2, 'app', now(), 10, true);
`;

/** A migrations directory holding V1 and V2 (applied) and the given pending files. */
export function migrationsDir(pending: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  writeFileSync(join(dir, 'V1__init.sql'), 'CREATE TABLE users (id bigserial PRIMARY KEY);\n');
  writeFileSync(join(dir, 'V2__orders.sql'), 'CREATE TABLE orders (id int PRIMARY KEY);\n');
  for (const [file, sql] of Object.entries(pending)) writeFileSync(join(dir, file), sql);
  return dir;
}

/** A file as `greenlight schema record` writes it, holding these statements. */
export function recordedFile(texts: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'recorded-'));
  const file = join(dir, 'blue-statements.json');
  writeFileSync(
    file,
    JSON.stringify({
      format: 'greenlight.statements/1',
      engine: 'postgres',
      database: 'app',
      source: 'pg_stat_statements',
      recordedAt: '2026-12-01T10:00:00.000Z',
      statements: texts.map((text, i) => ({ text, calls: 100 - i, role: 'app' })),
    }),
  );
  return file;
}

/**
 * The CLI bundled with esbuild (dependencies stay in node_modules), run in a real Node process
 * as a user runs it: PGlite loads its WebAssembly with a dynamic import, which jest's module
 * sandbox does not offer.
 */
export interface BundledCli {
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>;
  remove(): void;
}

export async function bundleCli(): Promise<BundledCli> {
  const { build } = await import('esbuild');
  const root = join(__dirname, '..', '..');
  mkdirSync(join(root, '.greenlight-tmp'), { recursive: true });
  const dir = mkdtempSync(join(root, '.greenlight-tmp', 'cli-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    `import { main } from ${JSON.stringify(join(root, 'bin', 'cli'))};\n` +
      'main(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n',
  );
  const outfile = join(dir, 'cli.js');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'silent',
  });
  return {
    async run(args, env = {}) {
      try {
        const { stdout, stderr } = await run(process.execPath, [outfile, ...args], {
          cwd: root,
          timeout: 120_000,
          maxBuffer: 16 * 1024 * 1024,
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
        });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code?: unknown; stdout?: string; stderr?: string };
        if (typeof e.code !== 'number') throw err;
        return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
