import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createConnection } from 'mysql2/promise';

/**
 * Database servers of the tests' own, on free loopback ports: PostgreSQL 15 with
 * pg_stat_statements preloaded and MariaDB with performance_schema on, which is not how the
 * machine's services run. Each is ready when the server says so in its log, and is stopped,
 * its data directory removed, by `stop()`.
 */
export interface StatServer {
  port: number;
  /** A URL for the superuser (postgres / root), without TLS. */
  adminUrl: string;
  stop(): Promise<void>;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';
const READY_TIMEOUT_MS = 60_000;
/** PostgreSQL's fast shutdown: sessions still open are ended. */
const PG_FAST_SHUTDOWN = 'SIGINT';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves when `pattern` shows in the child's output; rejects when it exits first or after the timeout. */
function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => finish(new Error(`${what} not ready after ${READY_TIMEOUT_MS} ms:\n${output}`)),
      READY_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (pattern.test(output)) finish();
    };
    const onExit = (code: number | null) =>
      finish(new Error(`${what} exited (${code}) before it was ready:\n${output}`));
    function finish(err?: Error) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    // 'close', not 'exit': the output pipes are closed too by then.
    child.once('close', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

/** PostgreSQL refuses to run as root: when the tests run as root, the server runs as `postgres`. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) =>
    Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

export async function startPostgresWithStatements(): Promise<StatServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pgstat-'));
  const user = serverUser();
  if (user) chownSync(dir, user.uid, user.gid);
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const init = spawnSync(
    `${PG_BIN}/initdb`,
    ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'],
    { encoding: 'utf8', ...user },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  const port = await freePort();
  const child = spawn(
    `${PG_BIN}/postgres`,
    [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=30',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...user },
  );
  try {
    await waitForLine(child, /database system is ready to accept connections/, 'PostgreSQL');
  } catch (err) {
    await stopChild(child, PG_FAST_SHUTDOWN);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  child.stdout!.resume();
  child.stderr!.resume();
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    port,
    adminUrl,
    async stop() {
      await stopChild(child, PG_FAST_SHUTDOWN);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startMariadbWithPerformanceSchema(): Promise<StatServer> {
  const dir = mkdtempSync(join(tmpdir(), 'mariadb-ps-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const install = spawnSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${data}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...asRoot,
    ],
    { encoding: 'utf8' },
  );
  if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`);
  const port = await freePort();
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${join(dir, 'mysqld.sock')}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--performance-schema=ON',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=32M',
      ...asRoot,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    await waitForLine(child, /ready for connections/, 'MariaDB');
  } catch (err) {
    await stopChild(child, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    port,
    adminUrl: `mysql://root@127.0.0.1:${port}/mysql`,
    async stop() {
      await stopChild(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs SQL as the superuser of a PostgreSQL server, in a given database. */
export async function pgExec(server: StatServer, database: string, sql: string): Promise<void> {
  const client = new Client({ host: '127.0.0.1', port: server.port, user: 'postgres', database });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Runs SQL (several statements allowed) as root on a MariaDB server. */
export async function mariadbExec(server: StatServer, sql: string, database?: string): Promise<void> {
  const connection = await createConnection({
    host: '127.0.0.1',
    port: server.port,
    user: 'root',
    multipleStatements: true,
    ...(database ? { database } : {}),
  });
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}
