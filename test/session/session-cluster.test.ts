import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { freePort } from './support/memcached-process';
import { runSessionCheck } from './support/run-check';

const REDIS_SERVER = '/usr/bin/redis-server';
/** A cluster node also listens on its port + 10000 (the cluster bus). */
const BUS_OFFSET = 10_000;

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose bus port is free too, and neither one another node's port or bus port. */
async function nodePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    const bus = port + BUS_OFFSET;
    if (bus > 65_535 || taken.has(port) || taken.has(bus) || !(await listenable(bus))) continue;
    taken.add(port);
    taken.add(bus);
    return port;
  }
}
const canRun = existsSync(REDIS_SERVER) && existsSync('/usr/bin/redis-cli');

/** Three primaries in cluster mode on free loopback ports, owned by this test. */
(canRun ? describe : describe.skip)('redis cluster mode', () => {
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'session-cluster-'));
    const taken = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const port = await nodePort(taken);
      ports.push(port);
      children.push(
        spawn(
          REDIS_SERVER,
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            dir,
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    const deadline = Date.now() + 10_000;
    const ping = (port: number) => {
      try {
        return (
          execFileSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).trim() === 'PONG'
        );
      } catch {
        return false;
      }
    };
    while (!ports.every(ping) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    execFileSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { stdio: 'ignore' },
    );
    while (Date.now() < deadline) {
      const info = execFileSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], {
        encoding: 'utf8',
      });
      if (info.includes('cluster_state:ok')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const cluster = new Cluster([{ host: '127.0.0.1', port: ports[0]! }]);
    for (let i = 0; i < 60; i++)
      await cluster.set(
        `sess:${i}`,
        JSON.stringify({ cookie: { expires: null }, user: { id: i } }),
        'EX',
        300,
      );
    await cluster.set('sess:broken', 'not json', 'EX', 300);
    cluster.disconnect();
  }, 20_000);

  afterAll(async () => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('samples every primary, runs the canary through the cluster client and reads eviction from each node', async () => {
    const report = await runSessionCheck({
      store: { engine: 'redis', host: '127.0.0.1', port: ports[0], cluster: true },
      sample: { keyPrefix: 'sess:', codec: 'express-session', size: 1_000, maxFailureRate: 0.05 },
    });
    expect(report.outcome).toBe('passed');
    const sample = report.details?.sample as {
      nodes: number;
      read: number;
      failed: number;
      complete: boolean;
    };
    expect(sample).toMatchObject({ nodes: 3, read: 61, failed: 1, complete: true });
    expect(report.message).toMatch(
      /^redis cluster 127\.0\.0\.1:\d+: reachable .*canary write\/read\/delete ok.*sampled 61 sessions under "sess:": 1 \(1\.6%\) not readable by green \(1 not valid JSON\)/,
    );
  });
});
