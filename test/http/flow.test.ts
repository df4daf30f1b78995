import { randomUUID } from 'node:crypto';
import { CookieJar } from '../../checks/http/cookie-jar';
import { runFlow } from '../../checks/http/flow';
import { requestStepSchema } from '../../checks/http/step';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { check, configError } from './run-http-check';

let app: TestServer;
const sessions = new Map<string, string>(); // sid -> user
const tokens = new Map<string, string>(); // token -> user

beforeAll(async () => {
  app = await startHttpServer((req, res) => {
    const cookies = Object.fromEntries(
      (req.headers.cookie ?? '')
        .split(/;\s*/)
        .filter(Boolean)
        .map((c) => c.split('=') as [string, string]),
    );
    const json = (status: number, body: unknown, headers: Record<string, string | string[]> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    switch (`${req.method} ${req.url}`) {
      case 'POST /login': {
        const { user, password } = JSON.parse(req.body || '{}') as { user?: string; password?: string };
        if (password !== 'hunter22') return json(401, { error: 'bad credentials' });
        const sid = randomUUID();
        const token = `tok-${randomUUID()}`;
        sessions.set(sid, user!);
        tokens.set(token, user!);
        return json(
          200,
          { token, user },
          {
            'set-cookie': [`sid=${sid}; Path=/; HttpOnly`, 'theme=dark; Path=/prefs'],
            'x-request-id': 'r-123',
          },
        );
      }
      case 'POST /form-login': {
        const form = new URLSearchParams(req.body);
        const sid = randomUUID();
        sessions.set(sid, form.get('user')!);
        res.writeHead(302, { location: '/dashboard', 'set-cookie': `sid=${sid}; Path=/` });
        return res.end();
      }
      case 'GET /dashboard':
        return sessions.has(cookies.sid ?? '')
          ? json(200, { page: 'dashboard', user: sessions.get(cookies.sid!) })
          : json(401, { error: 'no session' });
      case 'GET /api/me': {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        if (!tokens.has(token)) return json(401, { error: 'bad token' });
        if (!sessions.has(cookies.sid ?? '')) return json(401, { error: 'no session' });
        return json(200, { user: tokens.get(token), theme: cookies.theme ?? null });
      }
      case 'POST /logout':
        return json(200, { ok: true }, { 'set-cookie': 'sid=; Path=/; Max-Age=0' });
      default:
        return json(404, { error: 'not found' });
    }
  });
});
afterAll(() => app.close());

const login = {
  name: 'login',
  method: 'POST',
  path: '/login',
  json: { user: 'ann', password: 'hunter22' },
  captures: { token: { json: 'token' }, requestId: { header: 'x-request-id' }, sid: { cookie: 'sid' } },
};

it('passes a login flow with a captured token and the session cookie', async () => {
  const report = await check(
    {
      requests: [
        login,
        {
          name: 'me',
          path: '/api/me',
          headers: { authorization: 'Bearer ${token}', 'x-trace': '${requestId}' },
          expect: {
            json: [
              { path: 'user', '==': 'ann' },
              { path: 'theme', '==': null },
            ],
          },
        },
      ],
    },
    { test: app.url },
  );
  expect(report.outcome).toBe('passed');
  expect(report.message).toMatch(/^2 requests passed in \d+ ms \(last: GET .*\/api\/me returned 200/);
  const me = app.requests.at(-1)!;
  expect(me.headers.authorization).toMatch(/^Bearer tok-/);
  expect(me.headers['x-trace']).toBe('r-123');
  expect(me.headers.cookie).toMatch(/^sid=[0-9a-f-]{36}$/); // theme is scoped to /prefs
  expect(report.assertions!.filter((a) => a.what.startsWith('login capture'))).toEqual([
    { what: 'login capture token', expected: 'json token', actual: '[redacted]', ok: true },
    { what: 'login capture requestId', expected: 'header x-request-id', actual: 'r-123', ok: true },
    { what: 'login capture sid', expected: 'cookie sid', actual: '[redacted]', ok: true },
  ]);
});

it('stops the flow at the first request that does not pass and names it', async () => {
  const report = await check(
    {
      requests: [
        { ...login, json: { user: 'ann', password: 'wrong' } },
        { path: '/api/me', headers: { authorization: 'Bearer ${token}' } },
      ],
    },
    { test: app.url },
  );
  expect(report.outcome).toBe('failed');
  expect(report.message).toMatch(
    /^POST .*\/login returned 401, expected 2xx \(\d+ ms\); request 1 of 2, 1 later request not sent$/,
  );
  expect(report.details!.notSent).toBe(1);
});

it('fails when a capture finds nothing, saying where it looked', async () => {
  const report = await check(
    { requests: [{ ...login, captures: { token: { json: 'access_token' } } }] },
    { test: app.url },
  );
  expect(report.outcome).toBe('failed');
  expect(report.message).toContain('but capture token (json access_token) found nothing matched');
});

it('keeps cookies across a redirect after a form login', async () => {
  const report = await check(
    {
      requests: [
        {
          method: 'POST',
          path: '/form-login',
          form: { user: 'bob' },
          followRedirects: true,
          expect: { json: [{ path: 'user', '==': 'bob' }] },
        },
      ],
    },
    { test: app.url },
  );
  expect(report.outcome).toBe('passed');
  expect(report.message).toContain('after 1 redirect');
});

it('drops a cookie the server expires', async () => {
  const report = await check(
    {
      requests: [
        login,
        { method: 'POST', path: '/logout' },
        {
          path: '/api/me',
          headers: { authorization: 'Bearer ${token}' },
          expect: { status: 401, json: [{ path: 'error', '==': 'no session' }] },
        },
      ],
    },
    { test: app.url },
  );
  expect(report.outcome).toBe('passed');
});

it('captures with a regex group', async () => {
  const report = await check(
    {
      requests: [
        { ...login, captures: { user: { regex: '"user":"(\\w+)"' } } },
        { path: '/echo/${user}', expect: { status: 404 } },
      ],
    },
    { test: app.url },
  );
  expect(report.outcome).toBe('passed');
  expect(app.requests.at(-1)!.url).toBe('/echo/ann');
});

describe('the flow API for other checks', () => {
  it('runs parsed steps with a shared jar and returns captures', async () => {
    const steps = [
      requestStepSchema.parse(login),
      requestStepSchema.parse({ path: '/api/me', headers: { authorization: 'Bearer ${token}' } }),
    ];
    const jar = new CookieJar();
    const result = await runFlow(steps, {
      targets: { test: new URL(app.url) },
      signal: AbortSignal.timeout(5_000),
      deadline: Date.now() + 5_000,
      jar,
    });
    expect(result.outcome).toBe('passed');
    expect(result.variables.token).toMatch(/^tok-/);
    expect(jar.get('sid', new URL(app.url))).toBe(result.variables.sid);
    expect(result.steps.map((s) => s.status)).toEqual([200, 200]);
  });

  it('lets each body go once judged with keepResponses: false, still capturing from it', async () => {
    const steps = [
      requestStepSchema.parse(login),
      requestStepSchema.parse({ path: '/api/me', headers: { authorization: 'Bearer ${token}' } }),
    ];
    const result = await runFlow(steps, {
      targets: { test: new URL(app.url) },
      signal: AbortSignal.timeout(5_000),
      deadline: Date.now() + 5_000,
      keepResponses: false,
    });
    expect(result.outcome).toBe('passed');
    expect(result.variables.token).toMatch(/^tok-/);
    expect(result.steps.map((s) => s.response)).toEqual([undefined, undefined]);
    for (const step of result.steps) expect(step.bytesReceived).toBeGreaterThan(10);
  });

  it('replays a cookie set on one target on another target', async () => {
    const other = await startHttpServer((req, res) =>
      res.end(JSON.stringify({ cookie: req.headers.cookie ?? null })),
    );
    try {
      const jar = new CookieJar();
      const steps = [
        requestStepSchema.parse({ ...login, target: 'prod' }),
        requestStepSchema.parse({
          path: '/whoami',
          expect: { json: [{ path: 'cookie', matches: '^sid=' }] },
        }),
      ];
      const result = await runFlow(steps, {
        targets: { prod: new URL(app.url), test: new URL(other.url) },
        signal: AbortSignal.timeout(5_000),
        deadline: Date.now() + 5_000,
        jar,
      });
      expect(result.outcome).toBe('passed');
    } finally {
      await other.close();
    }
  });
});

describe('variables are checked when the config loads', () => {
  it.each([
    [
      'an unknown variable',
      { requests: [{ path: '/a/${nope}' }] },
      'checks.smoke.requests[0].path: unknown variable ${nope}; no variable is captured before this request',
    ],
    [
      'a variable captured only later',
      {
        requests: [
          { path: '/a', headers: { 'x-id': '${id}' } },
          { path: '/b', captures: { id: { header: 'x-id' } } },
        ],
      },
      'checks.smoke.requests[0].headers.x-id: unknown variable ${id}; no variable is captured before this request',
    ],
    [
      'a capture used by a concurrent request',
      {
        concurrency: 2,
        requests: [{ path: '/a', captures: { id: { header: 'x-id' } } }, { path: '/b/${id}' }],
      },
      "checks.smoke.requests[1].path: ${id} comes from another request's capture, but requests run concurrently",
    ],
  ])('rejects %s', (_title, options, message) => {
    expect(configError(options)).toBe(`greenlight.yml: ${message}`);
  });
});
