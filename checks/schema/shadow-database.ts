import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { ConnectionSettings, DbSession } from './connection';
import { pgliteAssets } from './pglite-assets';
import type { DdlStatement } from './shadow-ddl';

/** Where an initialised PGlite data directory is kept between runs: beside PGlite in node_modules/.cache. */
export function defaultPgliteCacheFile(): string | false {
  try {
    const entry = require.resolve('@electric-sql/pglite');
    const packageDir = entry.slice(0, entry.lastIndexOf(join('node_modules', '@electric-sql', 'pglite')));
    const manifest = join(packageDir, 'node_modules', '@electric-sql', 'pglite', 'package.json');
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    return join(packageDir, 'node_modules', '.cache', 'greenlight', `pglite-${version}-datadir.tgz`);
  } catch {
    return false; // no cache: every run starts a fresh data directory
  }
}

/**
 * Starts PGlite (PostgreSQL in WebAssembly, in this process). Its own initdb is most of its
 * start-up time (and doubles its memory), so the first run keeps the fresh data directory and
 * later runs start from it; a missing, unreadable or corrupt cache only costs the slower start.
 * In a hook bundle, the data directory initialised at packaging time is used (pglite-assets.ts).
 */
export async function openPglite(cacheFile: string | false = defaultPgliteCacheFile()): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const packaged = await pgliteAssets();
  if (packaged) return PGlite.create(packaged);
  if (cacheFile) {
    const cached = await readFile(cacheFile).catch(() => undefined);
    if (cached) {
      try {
        return await PGlite.create({ loadDataDir: new Blob([cached]) });
      } catch {
        // fall through to a fresh data directory, which replaces the bad cache below
      }
    }
  }
  const db = await PGlite.create();
  if (cacheFile) {
    try {
      const dump = await db.dumpDataDir('gzip');
      await mkdir(dirname(cacheFile), { recursive: true });
      const partial = `${cacheFile}.${process.pid}.tmp`;
      await writeFile(partial, Buffer.from(await dump.arrayBuffer()));
      await rename(partial, cacheFile);
    } catch {
      // a read-only checkout still works, only more slowly
    }
  }
  return db;
}

/** A statement of the live schema the shadow could not rebuild (an extension PGlite lacks, a C function). */
export interface ShadowGap {
  object: string;
  error: string;
}

/** A PostgreSQL error as PGlite raises it. */
export interface ShadowError {
  code: string;
  message: string;
  hint?: string;
}

export function shadowError(err: unknown): ShadowError {
  const e = err as { code?: unknown; message?: unknown; hint?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : '',
    message: typeof e?.message === 'string' ? e.message : String(err),
    ...(typeof e?.hint === 'string' && e.hint ? { hint: e.hint } : {}),
  };
}

/**
 * Applies the live schema's DDL in the shadow. Each phase (types, tables, constraints, ...) goes
 * in as one script in one transaction, which is what makes a large schema quick; a phase that
 * fails is applied statement by statement instead, and a statement that fails is tried again
 * once the rest has run (a view over a later view, a domain over a later domain), until a pass
 * makes no progress. What still fails is a gap, reported, not fatal.
 */
export async function applyDdl(db: PGlite, statements: readonly DdlStatement[]): Promise<ShadowGap[]> {
  await db.exec('SET check_function_bodies = off');
  const phases: DdlStatement[][] = [];
  for (const s of statements) {
    const last = phases[phases.length - 1];
    if (last && last[0]!.phase === s.phase) last.push(s);
    else phases.push([s]);
  }
  const errors = new Map<DdlStatement, string>();
  let pending: DdlStatement[] = [];
  const one = async (s: DdlStatement) => {
    try {
      await db.exec(s.sql);
      errors.delete(s);
      return true;
    } catch (err) {
      errors.set(s, shadowError(err).message);
      return false;
    }
  };
  for (const phase of phases) {
    try {
      await db.exec(`BEGIN;\n${phase.map((s) => s.sql).join(';\n')};\nCOMMIT`);
    } catch {
      await db.exec('ROLLBACK').catch(() => {});
      for (const s of phase) if (!(await one(s))) pending.push(s);
    }
  }
  while (pending.length) {
    const failed: DdlStatement[] = [];
    for (const s of pending) if (!(await one(s))) failed.push(s);
    if (failed.length === pending.length) break;
    pending = failed;
  }
  await db.exec('RESET check_function_bodies');
  return pending.map((s) => ({ object: s.object, error: errors.get(s) ?? 'failed' }));
}

/**
 * The shadow as a schema-check session, so the check's own introspection and statement
 * preparation run against it unchanged. Errors keep the server's code, message and hint as
 * `cause`, as the network session's do.
 */
export function shadowSession(db: PGlite, database = 'shadow'): DbSession {
  let roundTrips = 0;
  const settings: ConnectionSettings = {
    engine: 'postgres',
    host: 'shadow',
    port: 0,
    user: 'postgres',
    database,
    tls: { mode: 'disable' },
    connectTimeoutMs: 0,
    statementTimeoutMs: 0,
    lockTimeoutMs: 0,
  };
  return {
    engine: 'postgres',
    settings,
    serverVersion: 'PGlite',
    mariadb: false,
    database,
    currentUser: 'postgres',
    readOnly: true,
    get roundTrips() {
      return roundTrips;
    },
    async query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]> {
      roundTrips++;
      try {
        if (params?.length) return (await db.query<T>(sql, params)).rows;
        const results = await db.exec(sql);
        return (results[results.length - 1]?.rows ?? []) as T[];
      } catch (err) {
        const e = shadowError(err);
        throw Object.assign(new Error(`shadow: ${e.message}`, { cause: err }), { code: e.code });
      }
    },
    async close() {},
  };
}
