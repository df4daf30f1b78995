import { execFileSync } from 'node:child_process';
import { keyFingerprint } from '../../checks/session/keys';
import { buildSessionCheck, runSessionCheck } from './support/run-check';

const A = 'old-secret-0f3a9c2e71d84b5a';
const B = 'new-secret-7b1e44d09ac2f3e8';
const REDIS = { engine: 'redis', host: '127.0.0.1', port: 6379 };

function contract(keys: Array<{ label: string; secret: string }>) {
  return {
    inline: {
      keyPrefix: 'sess:',
      cookieName: 'connect.sid',
      codec: 'express-session',
      signingKeyIds: keys.map((k) => k.label),
      signingKeys: keys.map((k) => ({ label: k.label, fingerprint: keyFingerprint(k.secret) })),
    },
  };
}

describe('signing keys identified by fingerprint', () => {
  it('derives the fingerprint as documented: HMAC-SHA256 of a fixed message, 16 hex digits', () => {
    const openssl = execFileSync('openssl', ['dgst', '-sha256', '-hmac', A], {
      input: 'greenlight session key fingerprint v1',
      encoding: 'utf8',
    });
    expect(keyFingerprint(A)).toBe(/([0-9a-f]{64})/.exec(openssl)![1]!.slice(0, 16));
    expect(keyFingerprint(B)).not.toBe(keyFingerprint(A));
  });

  it('fails contracts that keep the label k1 for a changed secret, naming it as such', async () => {
    const report = await runSessionCheck({
      store: REDIS,
      canary: false,
      eviction: false,
      sample: false,
      contracts: {
        blue: contract([{ label: 'k1', secret: A }]),
        green: contract([{ label: 'k1', secret: B }]),
      },
    });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /green does not verify blue's signing key k1 \(fp [0-9a-f]{16}\) .*label k1 names a different secret .*: the secret changed under the same label/,
    );
    expect(JSON.stringify(report)).not.toContain(A);
  });

  it('passes contracts whose labels differ but whose keys are the same', async () => {
    const report = await runSessionCheck({
      store: REDIS,
      canary: false,
      eviction: false,
      sample: false,
      contracts: {
        blue: contract([{ label: 'k1', secret: A }]),
        green: contract([{ label: 'primary', secret: A }]),
      },
    });
    expect(report.outcome).toBe('passed');
  });

  it('reports a stale contract whose fingerprints are not the keys the version runs with', async () => {
    const report = await runSessionCheck({
      store: REDIS,
      canary: false,
      eviction: false,
      sample: false,
      contracts: {
        blue: contract([{ label: 'k1', secret: A }]),
        green: contract([{ label: 'k1', secret: A }]),
      },
      cookies: { framework: 'express-session', keys: { blue: [A], green: [B] }, sample: false },
    });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /green's contract lists keys k1 \(fp [0-9a-f]{16}\), but green is configured with fp [0-9a-f]{16}: the contract is stale/,
    );
  });
});

describe('cookies options', () => {
  it('needs no store for a framework that keeps the session in the cookie', () => {
    expect(() =>
      buildSessionCheck({ cookies: { framework: 'flask', keys: { blue: [A], green: [A] } } }),
    ).not.toThrow();
  });

  it.each([
    [
      { cookies: { framework: 'express-session', keys: { blue: [A], green: [A] } } },
      /store: required unless cookies.framework keeps the session in the cookie \(cookie-session, rails, django, flask\)/,
    ],
    [
      { cookies: { framework: 'django' } },
      /cookies.keys: django signs its cookies: expected the blue and green keys/,
    ],
    [
      { store: REDIS, cookies: { framework: 'spring', keys: { blue: [A], green: [A] } } },
      /cookies.keys: spring does not sign its cookie: remove keys/,
    ],
    [
      { cookies: { framework: 'rails', keys: { blue: [A], green: [A] } } },
      /cookies.cookieName: expected the session cookie's name \(rails has no default\)/,
    ],
    [
      { cookies: { framework: 'flask', keyDigest: 'sha256', keys: { blue: [A], green: [A] } } },
      /cookies.keyDigest: only rails/,
    ],
    [
      { cookies: { framework: 'flask', keys: { blue: [A], green: [A] }, sample: { greenTarget: 'nope' } } },
      /cookies.sample.greenTarget: unknown target "nope"/,
    ],
    [{ cookies: { framework: 'struts' } }, /cookies.framework/],
  ])('rejects %j', (options, message) => {
    expect(() => buildSessionCheck(options)).toThrow(message);
  });
});
