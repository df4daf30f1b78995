import { backoffDelay, retryAfterMs } from '../../checks/http/retry';
import { freePort, startHttpServer, type TestServer } from '../support/http-servers';
import { check } from './run-http-check';

/** A server that answers each request with the next status of a script (the last one repeats). */
async function scripted(
  ...statuses: Array<number | { status: number; headers: Record<string, string> }>
): Promise<TestServer> {
  let i = 0;
  return startHttpServer((_req, res) => {
    const step = statuses[Math.min(i++, statuses.length - 1)]!;
    const { status, headers } = typeof step === 'number' ? { status: step, headers: {} } : step;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ status: status === 200 ? 'ok' : 'not yet' }));
  });
}

const fast = { backoffMs: 20, maxBackoffMs: 50 };
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

it('passes after 503, 503, 503 then 200, retrying the transient answers', async () => {
  server = await scripted(503, 503, 503, 200);
  const report = await check(
    { requests: [{ path: '/health' }], retry: { attempts: 4, ...fast } },
    { test: server.url },
  );
  expect(report.outcome).toBe('passed');
  expect(server.requests).toHaveLength(4);
  expect(report.message).toMatch(/returned 200 \(\d+ ms\) \[4 attempts\]$/);
  expect(report.details!.requests).toEqual([expect.objectContaining({ attempts: 4, status: 200 })]);
});

it.each([
  ['a 404', 404],
  ['a 400', 400],
  ['a 500', 500],
])('fails at once on %s without retrying', async (_title, status) => {
  server = await scripted(status, 200);
  const report = await check(
    { requests: [{ path: '/health' }], retry: { attempts: 5, ...fast } },
    { test: server.url },
  );
  expect(report.outcome).toBe('failed');
  expect(server.requests).toHaveLength(1);
  expect(report.message).toContain(`returned ${status}, expected 2xx`);
  expect(report.message).not.toContain('attempts');
});

it.each([502, 503, 504, 429, 408])('retries a %i', async (status) => {
  server = await scripted(status, 200);
  const report = await check({ requests: [{ path: '/health' }], retry: fast }, { test: server.url });
  expect(report.outcome).toBe('passed');
  expect(server.requests).toHaveLength(2);
});

it('does not retry an assertion mismatch unless the check opts in', async () => {
  server = await startHttpServer(
    (() => {
      let n = 0;
      return (_req, res) => res.end(JSON.stringify({ ready: ++n >= 3 }));
    })(),
  );
  const expectation = { path: '/health', expect: { json: [{ path: 'ready', '==': true }] } };
  const strict = await check({ requests: [expectation], retry: fast }, { test: server.url });
  expect(strict.outcome).toBe('failed');
  expect(server.requests).toHaveLength(1);

  const lenient = await check(
    { requests: [expectation], retry: { ...fast, attempts: 3, onMismatch: true } },
    { test: server.url },
  );
  expect(lenient.outcome).toBe('passed');
  expect(server.requests).toHaveLength(3);
});

it('gives up after the configured attempts and says how many were made', async () => {
  server = await scripted(503);
  const report = await check(
    { requests: [{ path: '/health' }], retry: { attempts: 3, ...fast } },
    { test: server.url },
  );
  expect(report.outcome).toBe('failed');
  expect(server.requests).toHaveLength(3);
  expect(report.message).toMatch(/returned 503, expected 2xx \(\d+ ms\) \[3 attempts\]$/);
});

it('waits as long as Retry-After asks on a 429', async () => {
  server = await scripted({ status: 429, headers: { 'retry-after': '1' } }, 200);
  const report = await check({ requests: [{ path: '/health' }], retry: fast }, { test: server.url });
  expect(report.outcome).toBe('passed');
  expect(report.elapsedMs).toBeGreaterThanOrEqual(950);
});

it('does not wait for a Retry-After that ends past the deadline', async () => {
  server = await scripted({ status: 429, headers: { 'retry-after': '120' } }, 200);
  const report = await check(
    { requests: [{ path: '/health' }], retry: fast },
    { test: server.url },
    { budgetMs: 2_000 },
  );
  expect(report.outcome).toBe('failed');
  expect(report.elapsedMs).toBeLessThan(1_000);
  expect(server.requests).toHaveLength(1);
  expect(report.message).toContain('Retry-After asked for 120.0 s, past the deadline');
});

it('keeps every retry inside the hook deadline', async () => {
  server = await scripted(503);
  const report = await check(
    { requests: [{ path: '/health' }], retry: { attempts: 20, backoffMs: 200, maxBackoffMs: 200 } },
    { test: server.url },
    { budgetMs: 700 },
  );
  expect(report.outcome).toBe('failed');
  // 20 attempts 200 ms apart would take 4 s; the 700 ms budget (plus scheduling slack) bounds it.
  expect(report.elapsedMs).toBeLessThan(1_000);
  expect(server.requests.length).toBeGreaterThanOrEqual(2);
  expect(server.requests.length).toBeLessThan(20);
  expect(report.message).toContain('no time left for another attempt');
});

it('stops waiting between retries when the signal fires', async () => {
  server = await scripted(503);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('fail-fast')), 100);
  const report = await check(
    { requests: [{ path: '/health' }], retry: { attempts: 5, backoffMs: 5_000, maxBackoffMs: 5_000 } },
    { test: server.url },
    { signal: controller.signal },
  );
  expect(report.elapsedMs).toBeLessThan(1_000);
  expect(server.requests).toHaveLength(1);
});

it('retries a refused connection, then reports it as error with the reason', async () => {
  const port = await freePort();
  const report = await check(
    { requests: [{ path: '/health' }], retry: { attempts: 3, ...fast } },
    { test: `http://127.0.0.1:${port}` },
  );
  expect(report.outcome).toBe('error');
  expect(report.message).toMatch(
    new RegExp(`^GET http://127.0.0.1:${port}/health failed: .*ECONNREFUSED.* \\[3 attempts\\]$`),
  );
});

it('passes with the readiness wait when the server starts 2 s after the check', async () => {
  const port = await freePort();
  const starting = new Promise<TestServer>((resolve) =>
    setTimeout(() => resolve(startHttpServer((_req, res) => res.end('{"status":"ok"}'), port)), 2_000),
  );
  try {
    const report = await check(
      {
        requests: [{ path: '/health', expect: { json: [{ path: 'status', '==': 'ok' }] } }],
        readiness: { budgetMs: 6_000, intervalMs: 100 },
      },
      { test: `http://127.0.0.1:${port}` },
    );
    expect(report.outcome).toBe('passed');
    expect(report.elapsedMs).toBeGreaterThanOrEqual(1_900);
    expect(report.message).toMatch(/returned 200 .*\[\d+ attempts over \d\.\d s\]$/);
  } finally {
    server = await starting;
  }
});

it('reports not ready when the readiness budget runs out', async () => {
  const port = await freePort();
  const report = await check(
    { requests: [{ path: '/health' }], readiness: { budgetMs: 400, intervalMs: 50 } },
    { test: `http://127.0.0.1:${port}` },
  );
  expect(report.outcome).toBe('error');
  expect(report.elapsedMs).toBeLessThan(1_000);
  expect(report.message).toContain('not ready within 400 ms');
});

it('requires N consecutive passes and fails on the first run that does not pass', async () => {
  server = await scripted(200, 200, 404, 200);
  const report = await check(
    { requests: [{ path: '/health' }], consecutiveSuccesses: 4, successIntervalMs: 10 },
    { test: server.url },
  );
  expect(report.outcome).toBe('failed');
  expect(server.requests).toHaveLength(3);
  expect(report.message).toMatch(/^run 3 of 4 in a row: GET .* returned 404/);

  await server.close();
  server = await scripted(200);
  const ok = await check(
    { requests: [{ path: '/health' }], consecutiveSuccesses: 3, successIntervalMs: 10 },
    { test: server.url },
  );
  expect(ok.outcome).toBe('passed');
  expect(server.requests).toHaveLength(3);
  expect(ok.message).toMatch(/; 3 consecutive passes$/);
});

describe('retry budget', () => {
  /** A server whose answers alternate between `first` and `second`, request after request. */
  async function alternating(first: number, second: number): Promise<TestServer> {
    let n = 0;
    return startHttpServer((_req, res) => {
      res.writeHead(n++ % 2 === 0 ? first : second);
      res.end();
    });
  }
  const fiveRequests = [1, 2, 3, 4, 5].map((i) => ({ path: `/items/${i}` }));

  it('passes a run in which one request answers 503 once and passes on its retry', async () => {
    server = await scripted(200, 200, 503, 200);
    const report = await check({ requests: fiveRequests, retry: fast }, { test: server.url });
    expect(report.outcome).toBe('passed');
    expect(server.requests).toHaveLength(6);
    expect(report.assertions).toContainEqual({
      what: 'retry budget',
      expected: 'at most 1 of 5 requests retried (20 %, at least 1)',
      actual: '1 retried, after 503',
      ok: true,
    });
  });

  it.each([
    ['503 first, five requests', 503, 200, { requests: fiveRequests }, '5 of 5 requests', '503 ×5'],
    ['200 first, five requests', 200, 503, { requests: fiveRequests }, '4 of 5 requests', '503 ×4'],
    [
      '503 first, one request five times in a row',
      503,
      200,
      { requests: [{ path: '/health' }], consecutiveSuccesses: 5, successIntervalMs: 0 },
      '5 of 5 requests',
      '503 ×5',
    ],
  ])(
    'fails when every other answer is a 503 (%s), though each request passes on its retry',
    async (_title, first, second, options, counted, seen) => {
      server = await alternating(first, second);
      const report = await check({ ...options, retry: fast }, { test: server.url });
      expect(report.outcome).toBe('failed');
      expect(report.message).toBe(
        `${counted} needed a retry (after ${seen}), more than the retry budget's 1 (20 %, at least 1): ` +
          'green fails intermittently; fix it, or raise retryBudget.percent if that is expected',
      );
      expect(report.assertions!.find((a) => a.what === 'retry budget')).toMatchObject({ ok: false });
      // Every request did pass on its retry: only the budget failed the check.
      expect(report.assertions!.filter((a) => a.what !== 'retry budget').every((a) => a.ok)).toBe(true);
    },
  );

  it('does not count the polls of a readiness wait', async () => {
    // Three polls before green is ready, then one blip on the second request.
    server = await scripted(503, 503, 503, 200, 503, 200);
    const report = await check(
      {
        requests: [{ path: '/health' }, { path: '/items/1' }, { path: '/items/2' }],
        readiness: { budgetMs: 5_000, intervalMs: 10 },
        retry: fast,
      },
      { test: server.url },
    );
    expect(report.outcome).toBe('passed');
    expect(report.details!.retries).toEqual({ requests: 3, retried: 1, allowed: 1, seen: { '503': 1 } });
  });

  it('lets a share of the requests be retried, as configured', async () => {
    server = await alternating(503, 200);
    const report = await check(
      { requests: fiveRequests, retry: fast, retryBudget: { percent: 100 } },
      { test: server.url },
    );
    expect(report.outcome).toBe('passed');
    expect(report.details!.retries).toMatchObject({ requests: 5, retried: 5, allowed: 5 });
  });
});

describe('retry timing', () => {
  it.each([
    [1, 100, 200],
    [2, 200, 400],
    [3, 400, 800],
    [10, 2_500, 5_000],
  ])('retry %i waits between half and all of the capped exponential delay', (retry, low, high) => {
    const policy = { backoffMs: 200, maxBackoffMs: 5_000 };
    expect(backoffDelay(policy, retry, () => 0)).toBe(low);
    expect(backoffDelay(policy, retry, () => 1)).toBe(high);
  });

  it.each([
    ['seconds', '3', 3_000],
    ['an HTTP date', new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), 10_000],
    ['nonsense', 'soon', undefined],
    ['nothing', undefined, undefined],
  ])('reads Retry-After given as %s', (_title, header, ms) => {
    expect(retryAfterMs(header, Date.UTC(2030, 0, 1))).toBe(ms);
  });
});
