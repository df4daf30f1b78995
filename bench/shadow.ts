import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectionSchema, resolveConnection } from '../checks/schema/connection';
import { openSession } from '../checks/schema/open-session';
import { RECORDED_FORMAT } from '../checks/schema/recorded-statements';
import { rehearseMigration } from '../checks/schema/rehearse-migration';
import { openPglite } from '../checks/schema/shadow-database';
import type { Bench, BenchFigure } from './harness';

const TABLES = 500;
const TARGET_MS = 10_000;
const TARGET_RSS_BYTES = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

/** 500 tables of 8 columns (an enum, a domain, defaults, a check), each with an index and a foreign key to the one before; 25 views. */
function liveSchema(): string {
  const out = [
    "CREATE TYPE status AS ENUM ('new', 'active', 'closed')",
    "CREATE DOMAIN email_address AS text CHECK (VALUE LIKE '%@%')",
    'CREATE SEQUENCE ticket_no',
  ];
  for (let i = 0; i < TABLES; i++) {
    out.push(
      `CREATE TABLE t${i} (id bigserial PRIMARY KEY, parent_id bigint${i ? ` REFERENCES t${i - 1} (id)` : ''}, name text NOT NULL, email email_address, status status NOT NULL DEFAULT 'new', amount numeric(12, 2) CHECK (amount >= 0), created_at timestamptz NOT NULL DEFAULT now(), ticket int DEFAULT nextval('ticket_no'))`,
      `CREATE INDEX t${i}_name_idx ON t${i} (name)`,
    );
    if (i % 20 === 0)
      out.push(`CREATE VIEW v${i} AS SELECT id, name, status FROM t${i} WHERE status <> 'closed'`);
  }
  out.push(
    'CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200), type varchar(20), script varchar(1000), checksum int, installed_by varchar(100), installed_on timestamp DEFAULT now(), execution_time int, success boolean)',
    "INSERT INTO flyway_schema_history VALUES (1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'app', now(), 1, true)",
  );
  return out.join(';\n');
}

/** The release: a column on 100 tables, an index built concurrently, a renamed column blue reads. */
function migration(): string {
  const out: string[] = [];
  for (let i = 0; i < TABLES; i += 5) out.push(`ALTER TABLE t${i} ADD COLUMN note text`);
  out.push('CREATE INDEX CONCURRENTLY t1_created_idx ON t1 (created_at)');
  out.push('ALTER TABLE t7 RENAME COLUMN name TO title');
  return out.join(';\n') + ';\n';
}

function peakRss(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/** A shadow of 500 tables built from the live catalog, a migration applied and 1,000 statements prepared on it. */
export const shadowBench: Bench = {
  id: 'shadow',
  title: `rehearse a migration on a shadow of ${TABLES} tables`,
  async run(): Promise<BenchFigure[]> {
    const name = `shadow_bench_${randomBytes(4).toString('hex')}`;
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const app = new Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${name}` });
    await app.connect();
    const dir = mkdtempSync(join(tmpdir(), 'shadow-bench-'));
    try {
      await app.query(liveSchema());
      writeFileSync(join(dir, 'V1__init.sql'), 'SELECT 1;\n');
      writeFileSync(join(dir, 'V2__release.sql'), migration());
      const statements = Array.from({ length: 1_000 }, (_, i) => ({
        text: `SELECT id, name, status FROM t${i % TABLES} WHERE id = $1${i >= TABLES ? ' AND amount > $2' : ''}`,
        calls: 1_000 - i,
      }));
      const recorded = join(dir, 'blue.json');
      writeFileSync(
        recorded,
        JSON.stringify({
          format: RECORDED_FORMAT,
          engine: 'postgres',
          database: name,
          source: 'pg_stat_statements',
          recordedAt: new Date().toISOString(),
          statements,
        }),
      );

      // Baseline, in this process: starting the embedded PostgreSQL with nothing in it.
      await (await openPglite()).close(); // warms the data-directory cache, as a second run finds it
      const b0 = performance.now();
      const empty = await openPglite();
      await empty.query('SELECT 1');
      await empty.close();
      const baselineMs = performance.now() - b0;
      const rssBefore = process.memoryUsage.rss();

      const settings = resolveConnection(
        connectionSchema.parse({
          url: `postgres://postgres@127.0.0.1:5432/${name}?sslmode=disable`,
          statementTimeoutMs: 30_000,
        }),
      );
      if ('field' in settings) throw new Error(settings.message);
      const session = await openSession(settings, new AbortController().signal);
      const sampler = peakRss();
      const t0 = performance.now();
      let result;
      try {
        result = await rehearseMigration({
          live: session,
          migrations: dir,
          tool: 'flyway',
          statements: { recorded },
        });
      } finally {
        await session.close();
      }
      const ms = performance.now() - t0;
      const peak = sampler.stop();
      // The rename breaks t7's two reads, and only those: the rehearsal did its work.
      const broken = result.findings.filter((f) => f.kind === 'statement').map((f) => f.subject);
      if (
        result.findings.some((f) => f.kind !== 'statement') ||
        broken.length !== 2 ||
        broken.some((b) => b !== 't7.name') ||
        result.gaps.length ||
        !result.live.unchanged
      )
        throw new Error(
          `unexpected rehearsal result: ${JSON.stringify({ findings: result.findings.slice(0, 3), gaps: result.gaps.slice(0, 3) })}`,
        );
      const note = `read ${result.ms.read} ms, shadow ${result.ms.shadow} ms, migration ${result.ms.migrations} ms, ${result.statements.checked} statements ${result.ms.statements} ms`;
      return [
        {
          name: `shadow of ${TABLES} tables + a migration + 1,000 statements`,
          value: Math.round(ms),
          unit: 'ms',
          baseline: { name: 'PGlite start, empty', value: Math.round(baselineMs), unit: 'ms' },
          target: `≤ ${TARGET_MS} ms`,
          ok: ms <= TARGET_MS,
          note,
        },
        {
          name: 'peak RSS during that rehearsal',
          value: Math.round(peak / MiB),
          unit: 'MiB',
          baseline: { name: 'RSS before it', value: Math.round(rssBefore / MiB), unit: 'MiB' },
          target: `≤ ${TARGET_RSS_BYTES / MiB} MiB`,
          ok: peak <= TARGET_RSS_BYTES,
        },
      ];
    } finally {
      await app.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
