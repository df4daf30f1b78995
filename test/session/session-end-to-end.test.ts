import { Redis } from 'ioredis';
import { parseConfig } from '../../config/config';
import { clearRegisteredSecrets } from '../../lib/redact';
import { sessionCheckType } from '../../checks/session';
import type { CheckReport } from '../../checks/types';
import { blueConfig, SessionApp, type SessionAppConfig } from './support/session-app';
import { runCheck, uniquePrefix } from './support/run-check';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
const PASSWORD = 'e2e-login-password-93f1';
let base: string;
let apps: SessionApp[] = [];

beforeAll(() => redis.connect());
beforeEach(() => {
  base = uniquePrefix('session-e2e');
});
afterEach(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  apps = [];
  clearRegisteredSecrets();
  const keys = await redis.keys(`${base}*`);
  if (keys.length) await redis.unlink(...keys);
});
afterAll(() => redis.quit());

const CONFIG = `
targets: { test: "http://127.0.0.1:1", prod: "http://127.0.0.1:2" }
checks:
  sessions:
    type: session
    store: { engine: redis, host: 127.0.0.1, port: 6379 }
    canary: false
    sample: false
    contracts:
      blue: { target: prod }
      green: { target: test }
    endToEnd:
      requestTimeoutMs: 2000
      login:
        - method: POST
          path: /login
          json: { username: ada, password: "\${env:E2E_PASSWORD}" }
      authenticated:
        - path: /me
          expect: { status: 200, json: [{ path: authenticated, "==": true }] }
hooks:
  AfterAllowTestTraffic: [sessions]
`;

/** Starts blue and green (blue with `change` applied to green), runs the check from greenlight.yml text. */
async function crossVersions(
  change: Partial<SessionAppConfig>,
  env: Record<string, string> = { E2E_PASSWORD: PASSWORD },
): Promise<CheckReport> {
  const blue = new SessionApp(blueConfig({ keyPrefix: `${base}sess:`, password: PASSWORD }), redis);
  const green = new SessionApp(
    blueConfig({ keyPrefix: `${base}sess:`, password: PASSWORD, ...change }),
    redis,
  );
  apps = [blue, green];
  const [prod, test] = await Promise.all([blue.start(), green.start()]);
  const loaded = await parseConfig(CONFIG, { env, checkTypes: [sessionCheckType] });
  return runCheck(loaded.plan('AfterAllowTestTraffic')[0]!.check, { targets: { prod, test } });
}

function e2e(report: CheckReport): string[] {
  return report.message
    .replace(/^redis \S+: /, '')
    .split('; ')
    .filter((s) => s.startsWith('end to end'));
}

describe('end to end across versions (session created on one, used on the other)', () => {
  it('passes when each version accepts the other’s session, in both directions', async () => {
    const report = await crossVersions({});
    expect(report.outcome).toBe('passed');
    expect(e2e(report)).toEqual([
      'end to end blue→green: a session created on blue is accepted by green',
      'end to end green→blue: a session created on green is accepted by blue',
    ]);
  });

  it('fails only blue→green when green rejects the payload blue stored', async () => {
    const report = await crossVersions({ reader: 'v2', payload: 'v2' });
    expect(report.outcome).toBe('failed');
    const lines = e2e(report);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^end to end blue→green: a session created on blue \(prod\) is not accepted by green \(test\): GET http:\/\/127\.0\.0\.1:\d+\/me returned 401, expected 200/,
    );
  });

  it('fails both ways after a signing-secret rotation without overlap', async () => {
    const report = await crossVersions({ signingKeys: [{ id: 'k2', secret: 'green-only-secret' }] });
    expect(report.outcome).toBe('failed');
    expect(e2e(report).map((l) => l.slice(0, 25))).toEqual([
      'end to end blue→green: a ',
      'end to end green→blue: a ',
    ]);
  });

  it('is an error, without the password, when the login on blue is refused', async () => {
    const report = await crossVersions({}, { E2E_PASSWORD: 'wrong-password-5c2a' });
    expect(report.outcome).toBe('error');
    expect(e2e(report)[0]).toMatch(
      /^end to end blue→green: could not create a session on blue \(prod\): POST http:\/\/127\.0\.0\.1:\d+\/login returned 401/,
    );
    expect(JSON.stringify(report)).not.toContain('wrong-password-5c2a');
  });

  it('reads both contracts from the apps themselves', async () => {
    const report = await crossVersions({ cookieName: 'sid' });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/session cookie renamed from "connect.sid" to "sid"/);
    expect(e2e(report)[0]).toMatch(/blue→green: a session created on blue \(prod\) is not accepted by green/);
  });
});
