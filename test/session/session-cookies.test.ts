import { Redis } from 'ioredis';
import type { CheckReport } from '../../checks/types';
import {
  cookieListener,
  cookieSessionApp,
  expressSessionApp,
  runFramework,
  type Listener,
} from './support/frameworks';
import { runSessionCheck, uniquePrefix } from './support/run-check';

const A = 'old-secret-0f3a9c2e71d84b5a';
const B = 'new-secret-7b1e44d09ac2f3e8';
const PAYLOAD = { user: { id: '42', name: 'Ada' } };
const REDIS = { engine: 'redis', host: '127.0.0.1', port: 6379 };

/** One framework: how a version with these keys (the first signs) answers, and the check's settings. */
interface Framework {
  name: string;
  listener(keys: string[]): Promise<Listener>;
  options: Record<string, unknown>;
}

const produced = new Map<string, Promise<{ setCookie: string[] }>>();

/** Runs the real framework once per kind and keys; each version then serves what it set. */
async function fromScript(
  kind: 'flask' | 'django' | 'rails',
  input: Record<string, unknown>,
): Promise<Listener> {
  const id = JSON.stringify([kind, input]);
  if (!produced.has(id)) produced.set(id, runFramework(kind, { ...input, payload: PAYLOAD }));
  return cookieListener((await produced.get(id)!).setCookie);
}

const FRAMEWORKS: Framework[] = [
  {
    name: 'express-session',
    listener: (keys) => expressSessionApp(keys, PAYLOAD),
    // express-session keeps the session in the store: the check needs one.
    options: { store: REDIS, canary: false, eviction: false, cookies: { framework: 'express-session' } },
  },
  {
    name: 'cookie-session',
    listener: (keys) => cookieSessionApp(keys, PAYLOAD),
    options: { cookies: { framework: 'cookie-session' } },
  },
  {
    name: 'flask',
    listener: (keys) => fromScript('flask', { secretKey: keys[0] }),
    options: { cookies: { framework: 'flask' } },
  },
  {
    name: 'django',
    listener: (keys) => fromScript('django', { secretKey: keys[0] }),
    options: { cookies: { framework: 'django' } },
  },
  {
    name: 'rails (AES-256-GCM)',
    listener: (keys) => fromScript('rails', { secretKeyBase: keys[0] }),
    options: { cookies: { framework: 'rails', cookieName: '_app_session' } },
  },
  {
    name: 'rails (AES-256-CBC + HMAC)',
    listener: (keys) => fromScript('rails', { secretKeyBase: keys[0], cbc: true }),
    options: { cookies: { framework: 'rails', cookieName: '_app_session' } },
  },
];

const open: Listener[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

async function check(
  framework: Framework,
  keys: {
    blue: Array<string | { label: string; value: string }>;
    green: Array<string | { label: string; value: string }>;
  },
): Promise<CheckReport> {
  const value = (k: string | { value: string }) => (typeof k === 'string' ? k : k.value);
  const blue = await framework.listener(keys.blue.map(value));
  const green = await framework.listener(keys.green.map(value));
  open.push(blue, green);
  const cookies = { ...(framework.options.cookies as object), keys };
  return runSessionCheck({ ...framework.options, cookies }, { targets: { prod: blue.url, test: green.url } });
}

/** The directions with a failing assertion, e.g. ['blue→green']. */
function broken(report: CheckReport): string[] {
  const failing = (report.assertions ?? []).filter((a) => !a.ok).map((a) => a.what);
  return ['blue→green', 'green→blue'].filter((d) => failing.some((what) => what.includes(d)));
}

describe.each(FRAMEWORKS)('session cookies of $name', (framework) => {
  it('passes when blue and green run with the same key', async () => {
    const report = await check(framework, { blue: [A], green: [A] });
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/blue→green: green verifies the \S+ cookie blue sets/);
    expect(report.message).toMatch(/green→blue: blue verifies the \S+ cookie green sets/);
  });

  it('fails both ways when green changes the secret under the same label, without printing it', async () => {
    const report = await check(framework, {
      blue: [{ label: 'k1', value: A }],
      green: [{ label: 'k1', value: B }],
    });
    expect(report.outcome).toBe('failed');
    expect(broken(report)).toEqual(['blue→green', 'green→blue']);
    expect(report.message).toMatch(
      /label k1 names a different secret .*: the secret changed under the same label/,
    );
    expect(report.message).toMatch(
      /green rejects the \S+ cookie blue sets \(signature matches none|green rejects the \S+ cookie blue sets/,
    );
    const text = JSON.stringify(report);
    expect(text).not.toContain(A);
    expect(text).not.toContain(B);
  });

  it('passes a rotation where each version keeps the other’s key as a fallback', async () => {
    const report = await check(framework, { blue: [A, B], green: [B, A] });
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(
      /green verifies the \S+ cookie blue sets \(with its fallback key fp [0-9a-f]{16}\)/,
    );
    expect(report.message).toMatch(/blue verifies the \S+ cookie green sets \(with its fallback key/);
  });

  it('fails only blue→green when green drops the old key', async () => {
    const report = await check(framework, { blue: [A, B], green: [B] });
    expect(report.outcome).toBe('failed');
    expect(broken(report)).toEqual(['blue→green']);
    expect(report.message).toMatch(/users logged in on blue are logged out when traffic moves to green/);
  });

  it('fails only green→blue (rollback) when blue does not know green’s new key', async () => {
    const report = await check(framework, { blue: [A], green: [B, A] });
    expect(report.outcome).toBe('failed');
    expect(broken(report)).toEqual(['green→blue']);
    expect(report.message).toMatch(/logged out by a rollback/);
  });

  it('reports configured keys that are not the ones the version runs with as an error', async () => {
    const blue = await framework.listener([B]);
    const green = await framework.listener([A]);
    open.push(blue, green);
    const cookies = { ...(framework.options.cookies as object), keys: { blue: [A], green: [A] } };
    const report = await runSessionCheck(
      { ...framework.options, cookies },
      { targets: { prod: blue.url, test: green.url } },
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /blue's \S+ cookie \(prod \/\) does not verify with the keys configured for blue .*update cookies.keys.blue/,
    );
  });
});

describe('Spring Session cookies', () => {
  // DefaultCookieSerializer's header for a session id (Base64 by default), as Spring Session 3.2 writes it.
  const blueId = 'a1b2c3d4-0000-4000-8000-000000000001';
  const greenId = 'a1b2c3d4-0000-4000-8000-000000000002';
  const header = (id: string) =>
    `SESSION=${Buffer.from(id).toString('base64')}; Path=/; HttpOnly; SameSite=Lax`;
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  let prefix: string;
  beforeAll(() => redis.connect());
  beforeEach(async () => {
    prefix = `${uniquePrefix('session-spring')}spring:session:sessions:`;
    await redis.hset(`${prefix}${blueId}`, {
      creationTime: '1',
      lastAccessedTime: '1',
      maxInactiveInterval: '1800',
    });
    await redis.expire(`${prefix}${blueId}`, 60);
  });
  afterEach(() => redis.del(`${prefix}${blueId}`, `${prefix}${greenId}`));
  afterAll(() => redis.quit());

  async function spring(blueHeaders: string[], greenHeaders: string[]) {
    const blue = await cookieListener(blueHeaders);
    const green = await cookieListener(greenHeaders);
    open.push(blue, green);
    return runSessionCheck(
      {
        store: REDIS,
        canary: false,
        eviction: false,
        cookies: { framework: 'spring', storeKeyPrefix: prefix },
      },
      { targets: { prod: blue.url, test: green.url } },
    );
  }

  it('finds the session each version’s cookie names (Base64 or plain id) in the store; no keys to compare', async () => {
    await redis.hset(`${prefix}${greenId}`, {
      creationTime: '1',
      lastAccessedTime: '1',
      maxInactiveInterval: '1800',
    });
    await redis.expire(`${prefix}${greenId}`, 60);
    const report = await spring([header(blueId)], [`SESSION=${greenId}; Path=/; HttpOnly`]);
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(
      /blue's SESSION cookie names a session stored under \S+ \(spring, unsigned/,
    );
    expect(report.message).toMatch(/green's SESSION cookie names a session stored under/);
  });

  it('fails the direction whose cookie names a session missing from the store', async () => {
    const report = await spring([header(blueId)], [header(greenId)]);
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /green→blue: the session green's SESSION cookie names is not in the store under \S+, so blue cannot find it/,
    );
    expect(report.message).not.toContain(greenId);
  });

  it('is inconclusive when a version sets no session cookie, saying what to configure', async () => {
    const report = await spring([header(blueId)], ['other=1; Path=/']);
    expect(report.outcome).toBe('inconclusive');
    expect(report.message).toMatch(
      /green's cookie: http:\/\/127.0.0.1:\d+\/ set no SESSION cookie \(set: other\); set cookies.sample.requests/,
    );
  });
});

describe('cookie-only sessions with reader schemas', () => {
  it('decodes the session in blue’s Flask cookie and fails when green’s reader schema rejects it', async () => {
    const blue = await fromScript('flask', { secretKey: A });
    const green = await fromScript('flask', { secretKey: A });
    open.push(blue, green);
    const cookies = {
      framework: 'flask',
      keys: { blue: [A], green: [A] },
      readerSchemas: {
        green: { type: 'object', required: ['user'], properties: { user: { required: ['email'] } } },
        blue: { type: 'object', required: ['user'] },
      },
    };
    const report = await runSessionCheck({ cookies }, { targets: { prod: blue.url, test: green.url } });
    expect(report.outcome).toBe('failed');
    expect(broken(report)).toEqual(['blue→green']);
    expect(report.message).toMatch(
      /blue→green: green's reader schema rejects the session in the session cookie \(\/user must have required property 'email'\)/,
    );
    expect(report.assertions).toContainEqual({
      what: "green→blue: the session cookie's session against blue's reader schema",
      expected: 'accepted',
      actual: 'accepted',
      ok: true,
    });
  });
});
