import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { clearRegisteredSecrets } from '../../lib/redact';
import { runSessionCheck, uniquePrefix } from './support/run-check';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
const STORE = { engine: 'redis', host: '127.0.0.1', port: 6379 };
let base: string;

beforeAll(() => redis.connect());
beforeEach(() => {
  base = uniquePrefix('session-redis');
});
afterEach(async () => {
  const keys = await redis.keys(`${base}*`);
  if (keys.length) await redis.unlink(...keys);
});
afterAll(() => redis.quit());

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('canary write/read/delete', () => {
  it('writes, reads back and deletes a deployment-scoped key with a TTL', async () => {
    const canary = { keyPrefix: `${base}canary:`, ttlSeconds: 30 };
    const report = await runSessionCheck({ store: STORE, canary }, { deploymentId: 'd-CANARY001' });
    expect(report.outcome).toBe('passed');
    const key = `${base}canary:d-CANARY001:sessions:AfterAllowTestTraffic`;
    expect(report.assertions).toContainEqual({
      what: `canary ${key} read back`,
      expected: 'the value written',
      actual: 'the value written',
      ok: true,
    });
    const ttl = report.assertions!.find((a) => a.what === `canary ${key} TTL ms`)!;
    expect(ttl.ok).toBe(true);
    expect(ttl.actual).toBeGreaterThan(25_000);
    expect(await redis.exists(key)).toBe(0);
  });

  it('passes again when a crashed earlier run of the same hook left its canary behind', async () => {
    const canary = { keyPrefix: `${base}canary:`, ttlSeconds: 30 };
    const key = `${base}canary:d-RERUN0001:sessions:AfterAllowTestTraffic`;
    await redis.set(key, 'left by a run that died', 'EX', 30);
    const report = await runSessionCheck({ store: STORE, canary }, { deploymentId: 'd-RERUN0001' });
    expect(report.outcome).toBe('passed');
    expect(await redis.exists(key)).toBe(0);
  });
});

describe('eviction safety', () => {
  let policy: string;
  beforeAll(async () => {
    policy = ((await redis.config('GET', 'maxmemory-policy')) as string[])[1]!;
  });
  afterEach(async () => {
    await redis.config('SET', 'maxmemory-policy', policy);
  });

  it.each([
    [
      'fail',
      'failed',
      /eviction risk: maxmemory-policy allkeys-lru evicts live sessions when memory is full/,
    ],
    ['warn', 'passed', /eviction risk \(warn\): maxmemory-policy allkeys-lru/],
  ])('reports allkeys-lru as a risk; with onRisk %s the check is %s', async (onRisk, outcome, message) => {
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const report = await runSessionCheck({ store: STORE, canary: false, eviction: { onRisk } });
    expect(report.outcome).toBe(outcome);
    expect(report.message).toMatch(message);
    expect(report.assertions).toContainEqual({
      what: 'maxmemory-policy',
      expected: 'not allkeys-lru, allkeys-lfu, allkeys-random',
      actual: 'allkeys-lru',
      ok: false,
    });
  });

  it('passes noeviction and reports the evicted_keys counter', async () => {
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    const report = await runSessionCheck({ store: STORE, canary: false });
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/maxmemory-policy noeviction, evicted_keys \d+/);
  });
});

describe('a store that cannot be used', () => {
  afterEach(() => clearRegisteredSecrets());

  it('is an error naming host and port, within the connect timeout, when nothing listens', async () => {
    const port = await deadPort();
    const t0 = Date.now();
    const report = await runSessionCheck({ store: { ...STORE, port, connectTimeoutMs: 500 } });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      new RegExp(`^redis 127\\.0\\.0\\.1:${port}: unreachable: connect failed after .*ECONNREFUSED`),
    );
  });

  it('is an error within the timeout when the server accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const t0 = Date.now();
      const report = await runSessionCheck({
        store: { ...STORE, port, connectTimeoutMs: 300, commandTimeoutMs: 300 },
      });
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        new RegExp(`redis 127\\.0\\.0\\.1:${port}: unreachable: connect failed .*timed out`),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('stops at once when the hook deadline fires', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('hook deadline')), 50);
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const t0 = Date.now();
      const report = await runSessionCheck(
        { store: { ...STORE, port, connectTimeoutMs: 5_000 } },
        { signal: controller.signal },
      );
      expect(Date.now() - t0).toBeLessThan(1_000);
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(/stopped: hook deadline/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  describe('with an ACL user', () => {
    const user = `session-acl-${randomBytes(4).toString('hex')}`;
    const password = `pw-${randomBytes(12).toString('hex')}`;

    beforeAll(async () => {
      // The README's least-privilege user: read-only on sessions, read-write on the canary only.
      await redis.acl(
        'SETUSER',
        user,
        'reset',
        'on',
        `>${password}`,
        `%R~${'session-acl'}*`,
        `~greenlight-acl:canary:*`,
        '-@all',
        '+ping',
        '+info',
        '+scan',
        '+get',
        '+set',
        '+pttl',
        '+del',
      );
    });
    afterAll(async () => {
      await redis.acl('DELUSER', user);
    });

    it('passes with only the commands the README lists', async () => {
      const sessionsPrefix = `session-acl-${randomBytes(3).toString('hex')}:`;
      await redis.set(`${sessionsPrefix}abc`, JSON.stringify({ cookie: {}, user: { id: 1 } }), 'EX', 60);
      try {
        const report = await runSessionCheck({
          store: { ...STORE, username: user, password },
          canary: { keyPrefix: 'greenlight-acl:canary:' },
          sample: { keyPrefix: sessionsPrefix, codec: 'express-session' },
        });
        expect(report.message).toMatch(/sampled 1 sessions/);
        expect(report.outcome).toBe('passed');
      } finally {
        await redis.del(`${sessionsPrefix}abc`);
      }
    });

    it('is an error naming host and port, and never the password, when AUTH fails', async () => {
      const wrong = `${password}-wrong`;
      const t0 = Date.now();
      const report = await runSessionCheck({
        store: { ...STORE, username: user, password: wrong, connectTimeoutMs: 1_000 },
      });
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(/^redis 127\.0\.0\.1:6379: unreachable: connect failed .*WRONGPASS/);
      expect(JSON.stringify(report)).not.toContain(password);
    });
  });
});

describe('live sample', () => {
  it('never scans more than maxKeysScanned, however many keys the store holds', async () => {
    const pipeline = redis.pipeline();
    for (let i = 0; i < 5_000; i++) pipeline.set(`${base}other:${i}`, 'x', 'EX', 120);
    for (let i = 0; i < 5; i++)
      pipeline.set(`${base}sess:${i}`, JSON.stringify({ cookie: {}, n: i }), 'EX', 120);
    await pipeline.exec();
    const report = await runSessionCheck({
      store: STORE,
      canary: false,
      sample: { keyPrefix: `${base}sess:`, codec: 'express-session', scanCount: 100, maxKeysScanned: 500 },
    });
    const sample = (report.details as { sample: Record<string, number | boolean> }).sample;
    expect(sample.keysScanned).toBeLessThanOrEqual(500);
    expect(sample.scanCalls).toBe(5);
    expect(sample.complete).toBe(false);
  });

  it('counts undecodable values and hashes an express-session codec cannot read as failures without quoting them', async () => {
    await redis.set(
      `${base}sess:good`,
      JSON.stringify({ cookie: { expires: null }, user: 'fine' }),
      'EX',
      60,
    );
    await redis.set(`${base}sess:broken`, '{"email":"private@example.com"', 'EX', 60);
    await redis.set(`${base}sess:plain`, JSON.stringify({ email: 'other@example.com' }), 'EX', 60);
    await redis.hset(`${base}sess:hash`, 'email', 'hash@example.com');
    await redis.expire(`${base}sess:hash`, 60);
    const report = await runSessionCheck({
      store: STORE,
      canary: false,
      sample: { keyPrefix: `${base}sess:`, codec: 'express-session', maxFailureRate: 0.5 },
    });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/sampled 4 sessions under ".*": 3 \(75%\) not readable by green/);
    expect((report.details as { sample: { reasons: unknown } }).sample.reasons).toEqual({
      'not valid JSON': 1,
      'no cookie object (not an express-session session)': 1,
      'a hash, not a string value': 1,
    });
    expect(JSON.stringify(report)).not.toContain('example.com');
  });

  it('is inconclusive when there are no sessions to sample, or passes when told to', async () => {
    const sample = { keyPrefix: `${base}none:`, codec: 'json' };
    const empty = await runSessionCheck({ store: STORE, canary: false, sample });
    expect(empty.outcome).toBe('inconclusive');
    expect(empty.message).toMatch(/no session keys under ".*none:" to sample/);
    const allowed = await runSessionCheck({
      store: STORE,
      canary: false,
      sample: { ...sample, whenEmpty: 'pass' },
    });
    expect(allowed.outcome).toBe('passed');
  });
});
