import { httpCheckType } from '../../checks/http';
import { runChecks } from '../../checks/runner';
import { parseConfig } from '../../config/config';
import { createLogger } from '../../lib/log';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { check } from './run-http-check';

// Powertools picks its level when the first line is logged.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';

const SECRETS = {
  API_TOKEN: 'tok-6d1f0c3a9b7e',
  API_KEY: 'key-a83f29d0c1e4',
  SIGNATURE_VALUE: 'sig-51c7e2b94f08',
  LOGIN_PASSWORD: 'pw-93ab17f0de62',
};
const SESSION_ID = 'sess-7f3c9a21b4d8e6';
const ISSUED_TOKEN = 'jwt-0c8e5d2a7f61b9';

let server: TestServer;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    // A careless app that echoes credentials back in headers and bodies.
    const echo = {
      authorization: req.headers.authorization,
      apiKey: req.headers['x-api-key'],
      signature: req.headers['x-signature'],
      body: req.body,
      cookie: req.headers.cookie,
    };
    if (req.url === '/login') {
      res.writeHead(200, {
        'content-type': 'application/json',
        'set-cookie': `sid=${SESSION_ID}; Path=/`,
        'x-echo-auth': String(req.headers.authorization),
      });
      res.end(JSON.stringify({ token: ISSUED_TOKEN, echo }));
      return;
    }
    res.writeHead(500, {
      'content-type': 'application/json',
      'x-echo-auth': String(req.headers.authorization),
      'x-api-key': String(req.headers['x-api-key']),
    });
    res.end(JSON.stringify({ error: 'boom', echo }));
  });
});
afterAll(() => server.close());

it('keeps secrets from the config and from responses out of every log line, result and report', async () => {
  const yaml = `
targets:
  test: ${server.url}
  prod: ${server.url}
checks:
  smoke:
    type: http
    secretHeaders: [x-signature]
    headers:
      x-api-key: \${env:API_KEY}
      x-signature: \${env:SIGNATURE_VALUE}
    requests:
      - name: login
        method: POST
        path: /login
        headers: { authorization: "Bearer \${env:API_TOKEN}" }
        json: { user: ann, password: "\${env:LOGIN_PASSWORD}" }
        captures: { token: { json: token } }
        expect:
          headers: { x-echo-auth: { exists: true } }
      - name: api
        path: /api
        headers: { authorization: "Bearer \${token}" }
        retry: { attempts: 2, backoffMs: 1 }
        expect:
          status: 200
          headers: { x-echo-auth: "Bearer nope", x-api-key: { absent: true } }
          body: { contains: nothing-like-this }
          json: [{ path: echo, '==': {} }]
  diffed:
    type: http
    headers: { authorization: "Bearer \${env:API_TOKEN}" }
    retry: { attempts: 1 }
    requests: [{ path: /api, expect: { status: 500 } }]
    diff: { headers: [x-echo-auth, x-api-key] }
hooks:
  AfterAllowTestTraffic: [smoke, diffed]
`;
  const lines: string[] = [];
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    const loaded = await parseConfig(yaml, { env: SECRETS, checkTypes: [httpCheckType] });
    const log = createLogger({ deploymentId: 'd-TEST' });
    const verdict = await runChecks(loaded.plan('AfterAllowTestTraffic'), {
      deadline: Date.now() + 10_000,
      targets: loaded.targets,
      deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
      log,
      failFast: false,
    });
    log.info('verdict', { verdict });

    // The check really ran, failed, and sent the secrets where they belong.
    expect(verdict.checks.map((c) => c.outcome)).toEqual(['failed', 'passed']);
    const login = server.requests.find((r) => r.url === '/login')!;
    const api = server.requests.find((r) => r.url === '/api' && r.headers.cookie)!;
    expect(login.headers.authorization).toBe(`Bearer ${SECRETS.API_TOKEN}`);
    expect(api.headers.authorization).toBe(`Bearer ${ISSUED_TOKEN}`);
    expect(api.headers.cookie).toBe(`sid=${SESSION_ID}`);
    expect(lines.some((l) => l.includes('http request'))).toBe(true);

    const report = JSON.stringify(verdict);
    const logs = lines.join('');
    // Not even a prefix: evidence is cut to excerpts, and a cut must not go through a secret.
    for (const secret of [...Object.values(SECRETS), ISSUED_TOKEN, SESSION_ID]) {
      expect(report).not.toContain(secret.slice(0, 8));
      expect(logs).not.toContain(secret.slice(0, 8));
    }
    expect(report).toContain('[redacted]');
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
});

it('keeps the values of secret-looking JSON fields out of body excerpts and captures', async () => {
  const accessToken = 'at-5e0b7c91d24f';
  const refreshToken = 'rt-a61d08e3f7c2';
  const app = await startHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'starting', access_token: accessToken, refresh_token: refreshToken }));
  });
  try {
    const report = await check(
      {
        requests: [
          { path: '/token', captures: { t: { json: 'data || access_token' } } },
          { path: '/again?t=${t}', expect: { body: { contains: 'ready' } } },
        ],
      },
      { test: app.url },
    );
    expect(report.outcome).toBe('failed');
    expect(app.requests[1]!.url).toBe(`/again?t=${accessToken}`);
    const text = JSON.stringify(report);
    for (const secret of [accessToken, refreshToken]) expect(text).not.toContain(secret.slice(0, 8));
    expect(report.assertions).toContainEqual(
      expect.objectContaining({ what: 'GET /token capture t', actual: '[redacted]' }),
    );
    // The excerpt is quoted: the body's own quotes show escaped.
    const excerpt = JSON.parse(String(report.assertions!.find((a) => a.what.endsWith('body'))!.actual));
    expect(excerpt).toContain('"access_token":"[redacted]"');
    expect(excerpt).toContain('"status":"starting"');
  } finally {
    await app.close();
  }
});

it('sends no secret header to another origin when a redirect leaves the first one', async () => {
  const seen: Array<Record<string, unknown>> = [];
  const elsewhere = await startHttpServer((req, res) => {
    seen.push({ ...req.headers });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  const origin = await startHttpServer((req, res) => {
    res.writeHead(302, { location: `${elsewhere.url}/landing` });
    res.end();
  });
  try {
    const report = await check(
      {
        secretHeaders: ['x-tenant'],
        requests: [
          {
            path: '/go',
            followRedirects: true,
            headers: {
              authorization: 'Bearer abc-123-def',
              'x-api-key': 'k-123456789',
              'x-tenant': 'acme-secret-tenant',
              'x-trace': 'trace-1',
            },
          },
        ],
      },
      { test: origin.url },
    );
    expect(report.outcome).toBe('passed');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ 'x-trace': 'trace-1' });
    for (const name of ['authorization', 'x-api-key', 'x-tenant']) expect(seen[0]).not.toHaveProperty(name);
  } finally {
    await Promise.all([origin.close(), elsewhere.close()]);
  }
});
