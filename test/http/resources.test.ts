import { runFlow } from '../../checks/http/flow';
import { clientOptionsSchema, requestStepSchema } from '../../checks/http/step';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { check } from './run-http-check';

const MiB = 1024 * 1024;
let server: TestServer;
let targets: Record<string, string>;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    switch (url.pathname) {
      case '/slow-headers':
        setTimeout(() => res.end('too late'), 3_000).unref();
        return;
      case '/endless': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"items":[');
        const timer = setInterval(() => res.write('1,'), 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/streaming': {
        // A stream that never ends, quick enough to pass any small cap at once.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const piece = Buffer.alloc(4 * 1024, 'y');
        const timer = setInterval(() => res.write(piece), 10);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/large-chunked': {
        // Finite, past a small cap, and with no Content-Length to say how long it is.
        res.writeHead(200, { 'content-type': 'text/plain' });
        const piece = Buffer.alloc(16 * 1024, 'z');
        let left = 16;
        const more = () => {
          if (left-- === 0) return void res.end();
          res.write(piece);
          setImmediate(more);
        };
        more();
        return;
      }
      case '/huge': {
        let written = 0;
        const total = 50 * MiB;
        const chunk = Buffer.alloc(64 * 1024, 'x');
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
        const pump = () => {
          while (written < total && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
        return;
      }
      case '/loop':
        res.writeHead(302, { location: '/loop-b' });
        res.end();
        return;
      case '/loop-b':
        res.writeHead(302, { location: '/loop' });
        res.end();
        return;
      case '/moved': {
        const hops = Number(url.searchParams.get('hops') ?? '0');
        res.writeHead(hops > 0 ? 301 : 200, hops > 0 ? { location: `/moved?hops=${hops - 1}` } : {});
        res.end(hops > 0 ? '' : 'arrived');
        return;
      }
      case '/post-redirect':
        res.writeHead(303, { location: '/moved' });
        res.end();
        return;
      default:
        res.end('ok');
    }
  });
  targets = { test: server.url };
});
afterAll(() => server.close());

describe('timeouts', () => {
  it.each([
    [
      'waits longer than its timeout for headers',
      '/slow-headers',
      /timed out after 300 ms \(waiting for response headers\)/,
    ],
    [
      'sends a body that never ends',
      '/endless',
      /timed out after 300 ms \(reading the body, \d+ bytes received\)/,
    ],
  ])('is an error within the timeout when the server %s', async (_title, path, reason) => {
    const report = await check({ requests: [{ path, timeoutMs: 300 }], retry: { attempts: 1 } }, targets);
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(reason);
    expect(report.message.startsWith(`GET ${server.url}${path} timed out`)).toBe(true);
    expect(report.elapsedMs).toBeLessThan(800);
  });

  it('retries a timeout as transient, all within the per-request timeouts', async () => {
    const report = await check(
      {
        requests: [{ path: '/slow-headers', timeoutMs: 150 }],
        retry: { attempts: 2, backoffMs: 10, maxBackoffMs: 10 },
      },
      targets,
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toContain('[2 attempts]');
    expect(report.elapsedMs).toBeLessThan(700);
  });

  it('cuts a request short at the hook deadline even with a longer timeout', async () => {
    const report = await check({ requests: [{ path: '/endless', timeoutMs: 60_000 }] }, targets, {
      budgetMs: 400,
    });
    expect(report.outcome).toBe('error');
    expect(report.elapsedMs).toBeLessThan(1_000);
  });
});

describe('bounded bodies', () => {
  it('keeps only the cap of a 50 MiB body, reads the rest to its end and says it was truncated', async () => {
    global.gc?.();
    const before = process.memoryUsage();
    const report = await check(
      { requests: [{ path: '/huge', expect: { body: { contains: 'xxx' } } }] },
      targets,
    );
    global.gc?.();
    const after = process.memoryUsage();

    expect(report.outcome).toBe('passed');
    expect(report.message).toContain(`body truncated at ${MiB} bytes`);
    expect(report.details!.requests).toEqual([
      expect.objectContaining({ truncated: true, status: 200, bytesReceived: 50 * MiB }),
    ]);
    // Loose, and only meaningful with --expose-gc: past the cap each chunk is dropped as it comes.
    if (global.gc) expect(after.heapUsed - before.heapUsed).toBeLessThan(8 * MiB);
  });

  it('keeps exactly maxBodyBytes of a finite body sent without a length, and waits for its end', async () => {
    const result = await runFlow([requestStepSchema.parse({ path: '/large-chunked' })], {
      targets: { test: new URL(server.url) },
      signal: AbortSignal.timeout(5_000),
      deadline: Date.now() + 5_000,
      client: clientOptionsSchema.parse({ maxBodyBytes: 10_000 }),
      readToEnd: true,
    });
    expect(result.outcome).toBe('passed');
    expect(result.message).toContain('body truncated at 10000 bytes');
    const step = result.steps[0]!;
    expect(step.truncated).toBe(true);
    expect(step.bytesReceived).toBe(16 * 16 * 1024);
    expect(step.response!.body.length).toBe(10_000);
  });

  it.each([
    ['only the status is asserted', {}],
    ['the body is only searched as it streams', { body: { contains: 'yyyy' } }],
    ['the body is kept for a regex', { body: { matches: 'y+' } }],
  ])('does not pass a body that never ends when %s', async (_title, expectation) => {
    const report = await check(
      {
        requests: [{ path: '/streaming', expect: { status: 200, ...expectation } }],
        maxBodyBytes: 10_000,
        requestTimeoutMs: 600,
        retry: { attempts: 1 },
      },
      targets,
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/streaming timed out after 600 ms \(reading the body, \d+ bytes received, more than maxBodyBytes \(10000\), and it had not ended\)$/,
    );
  });

  it('honours a smaller maxBodyBytes and still reports the status', async () => {
    const report = await check({ requests: [{ path: '/huge' }], maxBodyBytes: 1_000 }, targets);
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/returned 200 \(\d+ ms, body truncated at 1000 bytes\)$/);
  });

  it('fails a JSON assertion on a truncated body and says why', async () => {
    const report = await check(
      {
        requests: [{ path: '/huge', expect: { json: [{ path: 'items', exists: true }] } }],
        maxBodyBytes: 100,
      },
      targets,
    );
    expect(report.outcome).toBe('failed');
    expect(report.assertions!.find((a) => !a.ok)!.actual).toMatch(
      /^body is not JSON: .* \(body truncated at 100 bytes\)/,
    );
  });
});

describe('redirects', () => {
  it('does not follow redirects by default, so a 302 can be asserted', async () => {
    const report = await check(
      { requests: [{ path: '/loop', expect: { status: 302, headers: { location: '/loop-b' } } }] },
      targets,
    );
    expect(report.outcome).toBe('passed');
  });

  it('bounds a redirect loop and shows the chain', async () => {
    const report = await check({ requests: [{ path: '/loop' }], followRedirects: 4 }, targets);
    expect(report.outcome).toBe('failed');
    expect(report.message).toBe(
      `GET ${server.url}/loop failed: stopped after 4 redirects (/loop → /loop-b → /loop → /loop-b → /loop → /loop-b)`,
    );
  });

  it('follows up to the default bound with followRedirects: true', async () => {
    const ok = await check(
      {
        requests: [{ path: '/moved?hops=3', expect: { body: { equals: 'arrived' } } }],
        followRedirects: true,
      },
      targets,
    );
    expect(ok.outcome).toBe('passed');
    expect(ok.message).toContain('after 3 redirects');
    const tooMany = await check({ requests: [{ path: '/moved?hops=6' }], followRedirects: true }, targets);
    expect(tooMany.outcome).toBe('failed');
    expect(tooMany.message).toContain('stopped after 5 redirects');
  });

  it('turns a POST into a GET without its body after a 303', async () => {
    const before = server.requests.length;
    const report = await check(
      { requests: [{ method: 'POST', path: '/post-redirect', json: { a: 1 }, followRedirects: 2 }] },
      targets,
    );
    expect(report.outcome).toBe('passed');
    const [post, get] = server.requests.slice(before);
    expect(post).toMatchObject({ method: 'POST', body: '{"a":1}' });
    expect(get).toMatchObject({ method: 'GET', url: '/moved', body: '' });
    expect(get!.headers['content-type']).toBeUndefined();
  });
});
