import { httpCheckType } from '../../checks/http';
import { configJsonSchema } from '../../config/config-schema';
import { configError, httpCheck } from './run-http-check';

const health = { path: '/health' };

it.each([
  ['no requests', {}, 'checks.smoke.requests: required, expected a list'],
  ['an empty request list', { requests: [] }, 'checks.smoke.requests: expected at least 1 item, got a list'],
  ['an unknown option', { requests: [health], retires: 3 }, 'checks.smoke.retires: unknown key'],
  [
    'an unknown request key',
    { requests: [{ path: '/', expects: {} }] },
    'checks.smoke.requests[0].expects: unknown key',
  ],
  [
    'a bad status',
    { requests: [{ path: '/', expect: { status: 'abc' } }] },
    'checks.smoke.requests[0].expect.status: expected a status code 100–599, a class such as "2xx", or a list of them, got "abc"',
  ],
  [
    'a status out of range',
    { requests: [{ path: '/', expect: { status: 700 } }] },
    'checks.smoke.requests[0].expect.status: expected a status code 100–599, a class such as "2xx", or a list of them, got 700',
  ],
  [
    'a bad method',
    { requests: [{ path: '/', method: 'FETCH' }] },
    'checks.smoke.requests[0].method: expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS, got "FETCH"',
  ],
  [
    'a relative path without a slash',
    { requests: [{ path: 'health' }] },
    'checks.smoke.requests[0].path: expected a path starting with /, got "health"',
  ],
  [
    'both path and url',
    { requests: [{ path: '/', url: 'http://x.test/' }] },
    'checks.smoke.requests[0].url: expected either path or url, not both, got "http://x.test/"',
  ],
  [
    'a url that is not http',
    { requests: [{ url: 'ftp://x.test/' }] },
    'checks.smoke.requests[0].url: expected an absolute http(s) URL, got "ftp://x.test/"',
  ],
  [
    'two bodies',
    { requests: [{ path: '/', body: 'a', json: {} }] },
    'checks.smoke.requests[0].json: expected only one of body, json, form, got body and json',
  ],
  [
    'a bad regex',
    { requests: [{ path: '/', expect: { body: { matches: '(' } } }] },
    'checks.smoke.requests[0].expect.body.matches: invalid regular expression: Invalid regular expression: /(/: Unterminated group, got "("',
  ],
  [
    'a bad JMESPath',
    { requests: [{ path: '/', expect: { json: [{ path: 'items[', exists: true }] } }] },
    expect.stringMatching(
      /^checks\.smoke\.requests\[0\]\.expect\.json\[0\]\.path: invalid JMESPath expression: .*, got "items\["$/,
    ),
  ],
  [
    'a JSON assertion without predicate',
    { requests: [{ path: '/', expect: { json: [{ path: 'a' }] } }] },
    'checks.smoke.requests[0].expect.json[0]: expected at least one predicate: ==, !=, <, <=, >, >=, contains, exists, type, matches, got a mapping',
  ],
  [
    'a header expectation with two tests',
    { requests: [{ path: '/', expect: { headers: { etag: { exists: true, equals: 'x' } } } }] },
    expect.stringContaining('checks.smoke.requests[0].expect.headers.etag: expected'),
  ],
  [
    'a capture with two sources',
    { requests: [{ path: '/', captures: { t: { json: 'a', header: 'b' } } }] },
    'checks.smoke.requests[0].captures.t: expected exactly one of header, cookie, json, regex, got a mapping',
  ],
  [
    'an unknown target',
    { requests: [{ path: '/', target: 'green' }] },
    'checks.smoke.requests[0].target: unknown target "green"; defined targets: test',
  ],
  [
    'an invalid JSON Schema',
    { requests: [{ path: '/', expect: { schema: { type: 'strin' } } }] },
    expect.stringMatching(/^checks\.smoke\.requests\[0\]\.expect\.schema: invalid JSON Schema: /),
  ],
  [
    'an unknown retry budget key',
    { requests: [health], retryBudget: { percentage: 10 } },
    'checks.smoke.retryBudget.percentage: unknown key',
  ],
  [
    'a retry budget above 100 percent',
    { requests: [health], retryBudget: { percent: 150 } },
    'checks.smoke.retryBudget.percent: expected a number ≤ 100, got 150',
  ],
  [
    'a body cap above 64 MiB',
    { requests: [health], maxBodyBytes: 100 * 1024 * 1024 },
    'checks.smoke.maxBodyBytes: expected a number ≤ 67108864, got 104857600',
  ],
])('rejects %s, naming the field and what was expected', (_title, options, message) => {
  const got = configError(options);
  expect(got.replace(/^greenlight\.yml: /, '')).toEqual(message);
});

it('accepts a minimal health check with defaults', () => {
  const c = httpCheck({ requests: [health] }, { test: 'http://127.0.0.1:8080' });
  expect(c).toMatchObject({ name: 'smoke', type: 'http' });
});

it('describes its options in the JSON Schema of greenlight.yml', () => {
  const schema = JSON.stringify(configJsonSchema([httpCheckType]));
  expect(schema).toContain('Smoke-test green on the test listener');
  expect(schema).toContain('minCertificateDaysLeft');
});
