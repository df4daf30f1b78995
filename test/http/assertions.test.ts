import { startHttpServer, type TestServer } from '../support/http-servers';
import { check } from './run-http-check';

let server: TestServer;
let targets: Record<string, string>;

const ITEMS = {
  status: 'ok',
  version: '1.4.2',
  count: 3,
  ratio: 0.5,
  items: [
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
  ],
  tags: ['x', 'y'],
  owner: null,
};

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    switch (req.url) {
      case '/health':
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'x-version': '1.4.2',
          'cache-control': 'no-store',
        });
        res.end(JSON.stringify(ITEMS));
        return;
      case '/down':
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('maintenance');
        return;
      case '/html':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Service unavailable, please retry</body></html>');
        return;
      case '/empty':
        res.writeHead(204);
        res.end();
        return;
      case '/slow':
        setTimeout(() => res.end('late'), 120);
        return;
      default:
        res.writeHead(404);
        res.end('not found');
    }
  });
  targets = { test: server.url };
});
afterAll(() => server.close());

it('passes on a healthy endpoint and says what it measured', async () => {
  const report = await check(
    {
      requests: [
        {
          path: '/health',
          expect: {
            status: 200,
            headers: {
              'content-type': { matches: '^application/json' },
              'x-version': '1.4.2',
              'x-missing': { absent: true },
            },
            body: { contains: '"status"' },
            json: [
              { path: 'status', '==': 'ok' },
              { path: 'length(items)', '>=': 2 },
            ],
            schema: {
              type: 'object',
              required: ['status', 'items'],
              properties: { items: { type: 'array' } },
            },
            maxDurationMs: 2_000,
          },
        },
      ],
    },
    targets,
  );
  expect(report.outcome).toBe('passed');
  expect(report.message).toMatch(new RegExp(`^GET ${server.url}/health returned 200 \\(\\d+ ms\\)$`));
  expect(report.assertions!.every((a) => a.ok)).toBe(true);
  expect(report.assertions!.map((a) => a.what)).toEqual([
    'GET /health status',
    'GET /health header content-type',
    'GET /health header x-version',
    'GET /health header x-missing',
    'GET /health body',
    'GET /health json status',
    'GET /health json length(items)',
    'GET /health json schema',
    'GET /health duration',
  ]);
});

it('expects a 2xx when no status is given, so a 503 never passes by accident', async () => {
  const report = await check({ requests: [{ path: '/down' }] }, targets);
  expect(report.outcome).toBe('failed');
  expect(report.message).toMatch(
    new RegExp(`^GET ${server.url}/down returned 503, expected 2xx \\(\\d+ ms\\)`),
  );
});

it('lets a non-2xx answer be asserted', async () => {
  const report = await check(
    { requests: [{ path: '/down', expect: { status: 503, body: { equals: 'maintenance' } } }] },
    targets,
  );
  expect(report.outcome).toBe('passed');
});

type Case = [
  title: string,
  path: string,
  expectation: Record<string, unknown>,
  what: string,
  expected: unknown,
  actual: unknown,
];

const failing: Case[] = [
  ['status exact', '/health', { status: 201 }, 'status', 201, 200],
  ['status list', '/health', { status: [201, 204] }, 'status', [201, 204], 200],
  ['status class', '/down', { status: '2xx' }, 'status', '2xx', 503],
  ['header equals', '/health', { headers: { 'x-version': '1.5.0' } }, 'header x-version', '1.5.0', '1.4.2'],
  [
    'header matches',
    '/health',
    { headers: { 'cache-control': { matches: 'max-age=\\d+' } } },
    'header cache-control',
    'matches /max-age=\\d+/',
    'no-store',
  ],
  [
    'header contains',
    '/health',
    { headers: { 'content-type': { contains: 'xml' } } },
    'header content-type',
    'contains "xml"',
    'application/json; charset=utf-8',
  ],
  ['header exists', '/health', { headers: { etag: { exists: true } } }, 'header etag', 'present', 'absent'],
  [
    'header absent',
    '/health',
    { headers: { 'x-version': { absent: true } } },
    'header x-version',
    'absent',
    '1.4.2',
  ],
  [
    'body contains',
    '/html',
    { body: { contains: 'Welcome' } },
    'body',
    'contains "Welcome"',
    '"<html><body>Service unavailable, please retry</body></html>"',
  ],
  [
    'body does not contain',
    '/html',
    { body: { notContains: 'unavailable' } },
    'body',
    'does not contain "unavailable"',
    expect.stringContaining('unavailable'),
  ],
  [
    'body matches',
    '/html',
    { body: { matches: '<title>' } },
    'body',
    'matches /<title>/',
    expect.stringContaining('<html>'),
  ],
  ['body equals', '/down', { status: 503, body: { equals: 'ok' } }, 'body', '"ok"', '"maintenance"'],
  [
    'json ==',
    '/health',
    { json: [{ path: 'status', '==': 'degraded' }] },
    'json status',
    '== "degraded"',
    'ok',
  ],
  [
    'json !=',
    '/health',
    { json: [{ path: 'version', '!=': '1.4.2' }] },
    'json version',
    '!= "1.4.2"',
    '1.4.2',
  ],
  ['json <', '/health', { json: [{ path: 'count', '<': 3 }] }, 'json count', '< 3', 3],
  ['json <=', '/health', { json: [{ path: 'count', '<=': 2 }] }, 'json count', '<= 2', 3],
  ['json >', '/health', { json: [{ path: 'ratio', '>': 0.5 }] }, 'json ratio', '> 0.5', 0.5],
  ['json >=', '/health', { json: [{ path: 'length(items)', '>=': 5 }] }, 'json length(items)', '>= 5', 2],
  [
    'json contains (array)',
    '/health',
    { json: [{ path: 'tags', contains: 'z' }] },
    'json tags',
    'contains "z"',
    ['x', 'y'],
  ],
  [
    'json contains (string)',
    '/health',
    { json: [{ path: 'version', contains: '2.' }] },
    'json version',
    'contains "2."',
    '1.4.2',
  ],
  [
    'json exists',
    '/health',
    { json: [{ path: 'build.sha', exists: true }] },
    'json build.sha',
    'exists',
    'absent',
  ],
  ['json absent', '/health', { json: [{ path: 'status', exists: false }] }, 'json status', 'absent', 'ok'],
  [
    'json null counts as absent',
    '/health',
    { json: [{ path: 'owner', exists: true }] },
    'json owner',
    'exists',
    'absent',
  ],
  [
    'json type',
    '/health',
    { json: [{ path: 'count', type: 'string' }] },
    'json count',
    'type string',
    'integer',
  ],
  [
    'json matches',
    '/health',
    { json: [{ path: 'version', matches: '^2\\.' }] },
    'json version',
    'matches /^2\\./',
    '1.4.2',
  ],
  [
    'json on a list item',
    '/health',
    { json: [{ path: 'items[?id==`2`].name | [0]', '==': 'c' }] },
    'json items[?id==`2`].name | [0]',
    '== "c"',
    'b',
  ],
  [
    'json schema',
    '/health',
    { schema: { type: 'object', properties: { count: { type: 'string' } } } },
    'json schema',
    'valid',
    '/count must be string',
  ],
  ['duration', '/slow', { maxDurationMs: 50 }, 'duration', '≤ 50 ms', expect.stringMatching(/^\d+ ms$/)],
];

it.each(failing)(
  'fails on a %s mismatch with expected vs actual',
  async (_title, path, expectation, what, expected, actual) => {
    const report = await check({ requests: [{ path, expect: expectation }] }, targets);
    expect(report.outcome).toBe('failed');
    const failed = report.assertions!.filter((a) => !a.ok);
    expect(failed).toEqual([{ what: `GET ${path} ${what}`, expected, actual, ok: false }]);
    expect(report.message).toContain(`GET ${server.url}${path} returned`);
  },
);

it('names the failing field in the message with both values', async () => {
  const report = await check(
    { requests: [{ path: '/health', expect: { json: [{ path: 'status', '==': 'degraded' }] } }] },
    targets,
  );
  expect(report.message).toMatch(
    /\/health returned 200, but json status: expected == "degraded", got ok \(\d+ ms\)$/,
  );
});

it('reports a duration assertion as failed when the answer is slower than allowed', async () => {
  const report = await check({ requests: [{ path: '/slow', expect: { maxDurationMs: 50 } }] }, targets);
  const duration = report.assertions!.find((a) => a.what.endsWith('duration'))!;
  expect(Number.parseInt(String(duration.actual), 10)).toBeGreaterThanOrEqual(100);
});

describe('JSON assertions on bodies that are not JSON', () => {
  it.each([
    ['an HTML error page', '/html', /^body is not JSON: .*; body starts "<html><body>Service unavailable/],
    ['an empty 204', '/empty', /^body is empty \(204 No Content\), expected JSON$/],
  ])('fails on %s with the parse error and an excerpt', async (_title, path, actual) => {
    const report = await check(
      { requests: [{ path, expect: { status: [200, 204], json: [{ path: 'status', exists: false }] } }] },
      targets,
    );
    expect(report.outcome).toBe('failed');
    const failed = report.assertions!.filter((a) => !a.ok);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      what: `GET ${path} body`,
      expected: 'JSON',
      actual: expect.stringMatching(actual),
    });
    expect(report.message).toContain('body is ');
  });
});

it('sends method, headers, query and each kind of body as configured', async () => {
  const report = await check(
    {
      requests: [
        {
          method: 'post',
          path: '/echo?fixed=1',
          query: { q: 'a b', n: [1, 2] },
          json: { name: 'x', list: [1] },
          expect: { status: 404 },
        },
        { method: 'PUT', path: '/echo', form: { user: 'ann', n: 2 }, expect: { status: 404 } },
        {
          method: 'PATCH',
          path: '/echo',
          headers: { 'content-type': 'text/plain', 'x-extra': 'yes' },
          body: 'raw text',
          expect: { status: 404 },
        },
      ],
    },
    targets,
  );
  expect(report.outcome).toBe('passed');
  const [json, form, text] = server.requests.slice(-3);
  expect(json).toMatchObject({
    method: 'POST',
    url: '/echo?fixed=1&q=a+b&n=1&n=2',
    body: '{"name":"x","list":[1]}',
  });
  expect(json!.headers['content-type']).toBe('application/json');
  expect(form).toMatchObject({ method: 'PUT', body: 'user=ann&n=2' });
  expect(form!.headers['content-type']).toBe('application/x-www-form-urlencoded');
  expect(text).toMatchObject({ method: 'PATCH', body: 'raw text' });
  expect(text!.headers).toMatchObject({ 'content-type': 'text/plain', 'x-extra': 'yes' });
});

it('carries a greenlight User-Agent and, when asked, a marker header for synthetic traffic', async () => {
  await check({ requests: [{ path: '/health' }], marker: true }, targets);
  const { version } = jest.requireActual<{ version: string }>('../../package.json');
  expect(server.requests.at(-1)!.headers['user-agent']).toBe(`greenlight/${version}`);
  expect(server.requests.at(-1)!.headers['x-greenlight-synthetic']).toBe('1');
  await check(
    { requests: [{ path: '/health' }], marker: { header: 'x-synthetic', value: 'deploy-check' } },
    targets,
  );
  expect(server.requests.at(-1)!.headers['x-synthetic']).toBe('deploy-check');
  await check({ requests: [{ path: '/health' }] }, targets);
  expect(server.requests.at(-1)!.headers['x-greenlight-synthetic']).toBeUndefined();
});

it('targets prod or an absolute URL when a request says so', async () => {
  const other = await startHttpServer((_req, res) => res.end('{"side":"blue"}'));
  try {
    const report = await check(
      {
        requests: [
          { target: 'prod', path: '/x', expect: { json: [{ path: 'side', '==': 'blue' }] } },
          { url: `${other.url}/abs` },
        ],
      },
      { test: server.url, prod: other.url },
    );
    expect(report.outcome).toBe('passed');
    expect(other.requests.map((r) => r.url)).toEqual(['/x', '/abs']);
  } finally {
    await other.close();
  }
});
