import { randomUUID } from 'node:crypto';
import { diffJson, parsePathPattern, pathIgnorer } from '../../checks/http/diff';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { check, configError } from './run-http-check';

interface Version {
  version: string;
  price: number;
  currency: string;
  contentType: string;
  status?: number;
}

function app(v: Version) {
  return startHttpServer((req, res) => {
    if (req.url === '/api/items') {
      res.writeHead(v.status ?? 200, { 'content-type': v.contentType, 'x-version': v.version });
      res.end(
        JSON.stringify({
          version: v.version,
          meta: { generatedAt: new Date().toISOString(), requestId: randomUUID(), region: 'eu-west-1' },
          items: [
            { id: 1, price: v.price, currency: v.currency, updatedAt: Date.now() },
            { id: 2, price: 5, currency: 'EUR', updatedAt: Date.now() + 1 },
          ],
        }),
      );
    } else if (req.url === '/text') {
      res.end(`hello from ${v.version}`);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

let blue: TestServer;
let green: TestServer;
let greenSame: TestServer;
const ignore = ['version', 'meta.generatedAt', 'meta.requestId', 'items[*].updatedAt'];

beforeAll(async () => {
  blue = await app({ version: '1.4.2', price: 10, currency: 'EUR', contentType: 'application/json' });
  green = await app({
    version: '1.5.0',
    price: 12,
    currency: 'EUR',
    contentType: 'application/json; charset=utf-8',
  });
  greenSame = await app({ version: '1.5.0', price: 10, currency: 'EUR', contentType: 'application/json' });
});
afterAll(() => Promise.all([blue.close(), green.close(), greenSame.close()]));

it('reports a changed field with both values and ignores the ignored paths', async () => {
  const report = await check(
    { requests: [{ path: '/api/items' }], diff: { ignore } },
    { prod: blue.url, test: green.url },
  );
  expect(report.outcome).toBe('failed');
  const differences = report.assertions!.filter((a) => !a.ok);
  expect(differences).toEqual([
    { what: 'GET /api/items diff json items[0].price', expected: 10, actual: 12, ok: false },
  ]);
  expect(report.message).toBe(
    'prod (blue) vs test (green) differ in json items[0].price (blue 10, green 12)',
  );
  expect(blue.requests.at(-1)!.url).toBe('/api/items');
  expect(green.requests.at(-1)!.url).toBe('/api/items');
});

it('compares bodies that are not JSON as text', async () => {
  const report = await check(
    { requests: [{ path: '/api/items' }, { path: '/text', expect: { status: 200 } }], diff: { ignore } },
    { prod: blue.url, test: greenSame.url },
  );
  expect(report.outcome).toBe('failed');
  expect(report.assertions!.filter((a) => !a.ok)).toEqual([
    { what: 'GET /text diff body', expected: '"hello from 1.4.2"', actual: '"hello from 1.5.0"', ok: false },
  ]);
});

it('passes when blue and green answer the same apart from ignored paths', async () => {
  const same = await check(
    { requests: [{ path: '/api/items' }], diff: { ignore } },
    { prod: blue.url, test: greenSame.url },
  );
  expect(same.outcome).toBe('passed');
  expect(same.message).toMatch(/^prod \(blue\) vs test \(green\): 1 request answered the same \(\d+ ms\)$/);
});

it('without ignores, reports every volatile field too', async () => {
  const report = await check(
    { requests: [{ path: '/api/items' }], diff: {} },
    { prod: blue.url, test: greenSame.url },
  );
  const paths = report
    .assertions!.filter((a) => !a.ok)
    .map((a) => a.what.replace('GET /api/items diff ', ''));
  expect(paths).toEqual(expect.arrayContaining(['json version', 'json meta.requestId']));
});

it('compares chosen headers and the status', async () => {
  const report = await check(
    { requests: [{ path: '/api/items' }], diff: { ignore: ['*'], headers: ['content-type'] } },
    { prod: blue.url, test: green.url },
  );
  expect(report.assertions!.filter((a) => !a.ok)).toEqual([
    {
      what: 'GET /api/items diff header content-type',
      expected: 'application/json',
      actual: 'application/json; charset=utf-8',
      ok: false,
    },
  ]);
  const gone = await check(
    { requests: [{ path: '/missing', expect: { status: 404 } }], diff: {} },
    { prod: blue.url, test: green.url },
  );
  expect(gone.outcome).toBe('passed');
});

it('is an error when blue cannot be reached, since there is nothing to compare with', async () => {
  const report = await check(
    { requests: [{ path: '/api/items' }], diff: {}, retry: { attempts: 1 } },
    { prod: 'http://127.0.0.1:1', test: green.url },
  );
  expect(report.outcome).toBe('error');
  expect(report.message).toMatch(
    /^cannot diff prod \(blue\) vs test \(green\): blue did not answer: GET http:\/\/127.0.0.1:1\/api\/items failed/,
  );
});

it.each([
  [
    'an unknown baseline target',
    { requests: [{ path: '/' }], diff: { baseline: 'blue' } },
    'checks.smoke.diff.baseline: unknown target "blue"; defined targets: test, prod',
  ],
  [
    'an absolute url',
    { requests: [{ url: 'http://example.test/' }], diff: {} },
    'checks.smoke.requests[0].url: a diff sends each request to both targets: use path, not an absolute url',
  ],
  [
    'an unreadable ignore path',
    { requests: [{ path: '/' }], diff: { ignore: ['items[x]'] } },
    'checks.smoke.diff.ignore[0]: cannot read path "items[x]" at "[x]", got "items[x]"',
  ],
])('rejects %s when the config loads', (_title, options, message) => {
  expect(configError(options, { test: 'http://127.0.0.1:1', prod: 'http://127.0.0.1:2' })).toBe(
    `greenlight.yml: ${message}`,
  );
});

describe('JSON diff paths', () => {
  it.each([
    ['a changed nested value', { a: { b: 1 } }, { a: { b: 2 } }, [], [{ path: 'a.b', blue: 1, green: 2 }]],
    ['a removed key', { a: 1, b: 2 }, { a: 1 }, [], [{ path: 'b', blue: 2, green: '(absent)' }]],
    ['an added array item', { l: [1] }, { l: [1, 2] }, [], [{ path: 'l[1]', blue: '(absent)', green: 2 }]],
    ['a type change', { a: '1' }, { a: 1 }, [], [{ path: 'a', blue: '1', green: 1 }]],
    ['an ignored subtree', { meta: { t: 1, u: 2 }, x: 1 }, { meta: { t: 3 }, x: 1 }, ['meta'], []],
    [
      'a wildcard index',
      {
        l: [
          { t: 1, v: 1 },
          { t: 2, v: 2 },
        ],
      },
      {
        l: [
          { t: 9, v: 1 },
          { t: 8, v: 3 },
        ],
      },
      ['l[*].t'],
      [{ path: 'l[1].v', blue: 2, green: 3 }],
    ],
    [
      'a wildcard key',
      { a: { etag: 1 }, b: { etag: 2 } },
      { a: { etag: 3 }, b: { etag: 4 } },
      ['*.etag'],
      [],
    ],
    ['an odd key', { 'x y': 1 }, { 'x y': 2 }, [], [{ path: '["x y"]', blue: 1, green: 2 }]],
  ])('finds %s', (_title, a, b, ignored, expected) => {
    expect(diffJson(a, b, pathIgnorer(ignored as string[]))).toEqual(expected);
  });

  it('reads $-prefixed and quoted patterns', () => {
    expect(parsePathPattern('$.a["b c"][0]')).toEqual(['a', 'b c', 0]);
  });
});
