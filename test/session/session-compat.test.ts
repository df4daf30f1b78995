import { Redis } from 'ioredis';
import { blueConfig, SessionApp, type SessionAppConfig } from './support/session-app';
import { runSessionCheck, uniquePrefix } from './support/run-check';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
const STORE = { engine: 'redis', host: '127.0.0.1', port: 6379 };
let base: string;

beforeAll(() => redis.connect());
beforeEach(() => {
  base = uniquePrefix('session-compat');
});
afterEach(async () => {
  const keys = await redis.keys(`${base}*`);
  if (keys.length) await redis.unlink(...keys);
});
afterAll(() => redis.quit());

/** Blue and green sample apps sharing the machine's Redis; green is blue with `change` applied. */
function versions(change: Partial<SessionAppConfig>) {
  const blue = new SessionApp(blueConfig({ keyPrefix: `${base}sess:` }), redis);
  const green = new SessionApp(blueConfig({ keyPrefix: `${base}sess:`, ...change }), redis);
  return { blue, green };
}

function contractsOf(apps: { blue: SessionApp; green: SessionApp }) {
  return { blue: { inline: apps.blue.contract() }, green: { inline: apps.green.contract() } };
}

/** Which directions the check says break, e.g. ['blue→green']. */
function broken(details: Record<string, unknown> | undefined): string[] {
  return ((details?.contracts as { brokenDirections?: string[] } | undefined)?.brokenDirections ?? []).sort();
}

describe('session contracts between blue and green sample apps', () => {
  it('passes compatible versions in both directions, with a live sample of blue sessions green can read', async () => {
    const apps = versions({});
    for (let i = 0; i < 25; i++) await apps.blue.createSession(i, `user${i}`);
    const report = await runSessionCheck({ store: STORE, contracts: contractsOf(apps) });
    expect(report.outcome).toBe('passed');
    expect(broken(report.details)).toEqual([]);
    expect(report.message).toMatch(/blue and green agree in both directions/);
    expect(report.message).toMatch(/sampled 25 sessions .*: 0 \(0%\) not readable by green/);
    expect(report.assertions!.filter((a) => a.what.includes('→')).map((a) => a.what)).toEqual(
      expect.arrayContaining([
        "codec blue→green: green reads blue's codec",
        "codec green→blue: blue reads green's codec",
        "signing key blue→green: green verifies blue's signing key",
        "payload green→blue: green's writer samples against blue's reader schema",
      ]),
    );
  });

  // Each row: what green changes, which directions break, and what the message must say.
  const table: Array<[string, Partial<SessionAppConfig>, string[], RegExp]> = [
    [
      'a changed key prefix fails as a mass logout',
      { keyPrefix: 'OTHER' },
      ['blue→green', 'green→blue'],
      /key prefix changed from .*: each version cannot see the other's sessions \(mass logout/,
    ],
    [
      'a changed cookie name fails',
      { cookieName: 'sid' },
      ['blue→green', 'green→blue'],
      /session cookie renamed from "connect.sid" to "sid"/,
    ],
    [
      'a new serializer that green can also read fails only green→blue',
      { codec: 'base64-json', acceptsCodecs: ['express-session', 'base64-json'] },
      ['green→blue'],
      /blue cannot read green's base64-json sessions .*rollback/,
    ],
    [
      'a new serializer green alone reads fails both ways',
      { codec: 'base64-json' },
      ['blue→green', 'green→blue'],
      /green cannot read blue's express-session sessions/,
    ],
    [
      'a payload change green rejects fails only blue→green',
      { payload: 'v2', reader: 'v2' },
      ['blue→green'],
      /green rejects 1 of 1 of blue's session samples \(sample 1: \/user\/id must be string\)/,
    ],
    [
      'a payload change blue still reads passes',
      { payload: 'v2', reader: 'v1' },
      [],
      /agree in both directions/,
    ],
    [
      'a rotated signing secret without overlap fails both ways',
      { signingKeys: [{ id: 'k2', secret: 'green-signing-secret-k2' }] },
      ['blue→green', 'green→blue'],
      /green does not verify blue's signing key k1 \(verifies k2\)/,
    ],
  ];

  it.each(table)('%s', async (_name, change, directions, message) => {
    const patched = change.keyPrefix === 'OTHER' ? { ...change, keyPrefix: `${base}session:` } : change;
    const apps = versions(patched);
    await apps.blue.createSession(1, 'ada');
    const report = await runSessionCheck({ store: STORE, contracts: contractsOf(apps), sample: false });
    expect(broken(report.details)).toEqual(directions);
    expect(report.outcome).toBe(directions.length ? 'failed' : 'passed');
    expect(report.message).toMatch(message);
  });

  it('fails only green→blue when green writes a payload that blue rejects', async () => {
    const blue = new SessionApp(blueConfig({ keyPrefix: `${base}sess:`, reader: 'v0' }), redis);
    const green = new SessionApp(
      blueConfig({ keyPrefix: `${base}sess:`, payload: 'v2', reader: 'v1' }),
      redis,
    );
    const report = await runSessionCheck({
      store: STORE,
      contracts: contractsOf({ blue, green }),
      sample: false,
    });
    expect(report.outcome).toBe('failed');
    expect(broken(report.details)).toEqual(['green→blue']);
    expect(report.message).toMatch(
      /blue rejects 1 of 1 of green's session samples \(sample 1: \/user\/id must be integer\): users logged in on green are logged out by a rollback/,
    );
  });

  it('passes a signing-key rotation with overlap: each version verifies the key the other signs with', async () => {
    const k1 = { id: 'k1', secret: 'blue-signing-secret-k1' };
    const k2 = { id: 'k2', secret: 'green-signing-secret-k2' };
    const blue = new SessionApp(blueConfig({ keyPrefix: `${base}sess:`, signingKeys: [k1, k2] }), redis);
    const green = new SessionApp(blueConfig({ keyPrefix: `${base}sess:`, signingKeys: [k2, k1] }), redis);
    const report = await runSessionCheck({
      store: STORE,
      contracts: contractsOf({ blue, green }),
      sample: false,
    });
    expect(report.outcome).toBe('passed');
    expect(report.assertions).toContainEqual({
      what: "signing key green→blue: blue verifies green's signing key",
      expected: 'one of k1, k2',
      actual: 'k2',
      ok: true,
    });
  });

  it('fails the live sample when stored blue sessions do not satisfy green’s reader, naming the rule but no value', async () => {
    const apps = versions({ reader: 'v2', payload: 'v2' });
    for (let i = 0; i < 10; i++) await apps.blue.createSession(7000 + i, `secret-name-${i}`);
    const report = await runSessionCheck({
      store: STORE,
      contracts: contractsOf(apps),
      sample: { size: 50, maxFailureRate: 0.05 },
    });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /sampled 10 sessions under ".*sess:": 10 \(100%\) not readable by green \(10 rejected by green's reader schema: \/user\/id must be string\), max 5\.0%/,
    );
    const text = JSON.stringify(report);
    expect(text).not.toMatch(/secret-name|\b700\d\b/);
  });
});
