import { HttpClient } from '../../checks/http/client';
import { SCANNED_PREFIX_BYTES } from '../../checks/http/hop';
import { runFlow } from '../../checks/http/flow';
import { clientOptionsSchema, requestStepSchema } from '../../checks/http/step';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { check } from './run-http-check';

const MiB = 1024 * 1024;
/** Multi-byte text in pieces that do not line up with characters: 3 × 7 000 bytes, no Content-Length. */
const PIECE = Buffer.from('é€😀x'.repeat(700));
const CHUNKED = Buffer.concat([PIECE, PIECE, PIECE, Buffer.from('END')]);
/** Valid text around bytes that are not UTF-8: a cut-off `€` (e2 82) and a stray ff. */
const MIXED = Buffer.concat([
  Buffer.from('status: '),
  Buffer.from([0xe2, 0x82]),
  Buffer.from('café '),
  Buffer.from([0xff]),
  Buffer.from('€uro ok'),
]);
const BIG = Buffer.alloc(MiB, 'x');
/** 3 MiB of text with a marker in the middle, on a write boundary, and a different end. */
const LONG_WRITE = 65_531;
const LONG = Buffer.concat([
  Buffer.alloc(LONG_WRITE * 24 - 4, 'é'),
  Buffer.from('[MARKER-42]'),
  Buffer.alloc(3 * MiB - LONG_WRITE * 24 - 7 - 8, 'z'),
  Buffer.from('TAIL-END'),
]);

let server: TestServer;
let targets: Record<string, string>;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    switch (req.url) {
      case '/chunked': {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        // Cut inside characters, so that no write ends on a character boundary.
        for (let at = 0; at < CHUNKED.length; at += 5_001) res.write(CHUNKED.subarray(at, at + 5_001));
        res.end();
        return;
      }
      case '/mixed':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': MIXED.length });
        res.end(MIXED);
        return;
      case '/long': {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        let at = 0;
        const more = () => {
          if (at >= LONG.length) return void res.end();
          res.write(LONG.subarray(at, (at += LONG_WRITE)));
          setImmediate(more);
        };
        more();
        return;
      }
      case '/big':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BIG.length });
        res.end(req.method === 'HEAD' ? undefined : BIG);
        return;
      default:
        res.writeHead(404);
        res.end('not found');
    }
  });
  targets = { test: server.url };
});
afterAll(() => server.close());

function flow(step: Record<string, unknown>, keepResponses = true, client: Record<string, unknown> = {}) {
  return runFlow([requestStepSchema.parse(step)], {
    targets: { test: new URL(server.url) },
    signal: AbortSignal.timeout(5_000),
    deadline: Date.now() + 5_000,
    client: clientOptionsSchema.parse(client),
    keepResponses,
  });
}

describe('response bodies', () => {
  it('reads a body sent in pieces without a Content-Length, byte for byte', async () => {
    const result = await flow({
      path: '/chunked',
      expect: { body: { contains: ['😀xé€😀xEND', 'xé€😀xé'] } },
    });
    expect(result.outcome).toBe('passed');
    const step = result.steps[0]!;
    expect(step.response!.body.equals(CHUNKED)).toBe(true);
    expect(step.bytesReceived).toBe(CHUNKED.length);
    expect(step.truncated).toBe(false);
  });

  it('keeps exactly the first maxBodyBytes of a body sent in pieces', async () => {
    const result = await flow({ path: '/chunked' }, true, { maxBodyBytes: 10_000 });
    const step = result.steps[0]!;
    expect(step.truncated).toBe(true);
    expect(step.response!.body.equals(CHUNKED.subarray(0, 10_000))).toBe(true);
  });

  it('answers contains and notContains on text around invalid bytes as on the decoded text', async () => {
    const text = MIXED.toString('utf8');
    const pieces = ['café', '€uro ok', ': \uFFFDcafé', '\uFFFD', 'cafe', '\u20ac', 'ok\uFFFD'];
    const report = await check(
      { requests: [{ path: '/mixed', expect: { body: { contains: pieces, notContains: pieces } } }] },
      targets,
    );
    const contains = report.assertions!.filter((a) => String(a.expected).startsWith('contains'));
    const absent = report.assertions!.filter((a) => String(a.expected).startsWith('does not contain'));
    expect(contains.map((a) => a.ok)).toEqual(pieces.map((p) => text.includes(p)));
    expect(absent.map((a) => a.ok)).toEqual(pieces.map((p) => !text.includes(p)));
    expect(contains.map((a) => a.ok)).toEqual([true, true, true, true, false, true, false]);
  });

  it('keeps a short excerpt of a 1 MiB body as evidence, and the body nowhere in the result', async () => {
    const report = await check(
      { requests: [{ path: '/big', expect: { body: { contains: 'needle', notContains: 'xxxx' } } }] },
      targets,
    );
    expect(report.outcome).toBe('failed');
    const failed = report.assertions!.filter((a) => !a.ok);
    expect(failed).toHaveLength(2);
    for (const a of failed) expect(String(a.actual).length).toBeLessThanOrEqual(125);
    expect(JSON.stringify(report).length).toBeLessThan(4_000);

    const result = await flow({ path: '/big', expect: { body: { contains: 'needle' } } }, false);
    expect(result.steps[0]!.response).toBeUndefined();
    expect(result.steps[0]!.bytesReceived).toBe(MiB);
    expect(JSON.stringify(result).length).toBeLessThan(4_000);
  });

  it('reads nothing for a HEAD answer that declares a length', async () => {
    const result = await flow({ method: 'HEAD', path: '/big', expect: { body: { notContains: 'x' } } });
    expect(result.outcome).toBe('passed');
    expect(result.steps[0]!.response!.body.length).toBe(0);
    expect(result.steps[0]!.response!.headers['content-length']).toBe(String(MiB));
  });
});

describe('bodies that are only searched', () => {
  it('are scanned as they arrive: only their first bytes are kept', async () => {
    const http = new HttpClient();
    try {
      const sent = await http.send(
        {
          method: 'GET',
          url: new URL('/long', server.url),
          headers: {},
          tls: {},
          timeoutMs: 5_000,
          maxBodyBytes: 8 * MiB,
          maxRedirects: 0,
          scan: ['[MARKER-42]', 'TAIL-END', 'not in it'],
        },
        { signal: AbortSignal.timeout(5_000) },
      );
      const response = sent.response!;
      expect(response.bodyBytes).toBe(LONG.length);
      expect(response.truncated).toBe(false);
      expect(response.body.equals(LONG.subarray(0, SCANNED_PREFIX_BYTES))).toBe(true);
      expect(response.scanned!.get('[MARKER-42]')).toMatch(/^é+\[MARKER-42\]z+$/);
      expect(response.scanned!.get('TAIL-END')).toMatch(/z+TAIL-END$/);
      expect(response.scanned!.get('not in it')).toBeNull();
    } finally {
      await http.close();
    }
  });

  it('give contains and notContains the same answers, and evidence from the middle of the body', async () => {
    const report = await check(
      {
        maxBodyBytes: 4 * MiB,
        requests: [{ path: '/long', expect: { body: { contains: 'TAIL-END', notContains: '[MARKER-42]' } } }],
      },
      targets,
    );
    expect(report.outcome).toBe('failed');
    const [contains, absent] = report.assertions!.filter((a) => a.what.endsWith('body'));
    expect(contains!.ok).toBe(true);
    expect(absent!.ok).toBe(false);
    expect(absent!.actual).toMatch(/^"é+\[MARKER-42\]z+…"$/);
  });

  it('are kept whole when another assertion reads the text', async () => {
    const report = await check(
      {
        maxBodyBytes: 4 * MiB,
        requests: [
          { path: '/long', expect: { body: { contains: 'TAIL-END', matches: 'MARKER-(\\d+)\\]z{100}' } } },
        ],
      },
      targets,
    );
    expect(report.outcome).toBe('passed');
  });

  it('are still read no further than maxBodyBytes', async () => {
    const report = await check(
      { maxBodyBytes: 100_000, requests: [{ path: '/long', expect: { body: { contains: 'TAIL-END' } } }] },
      targets,
    );
    expect(report.outcome).toBe('failed');
    expect(report.message).toContain('body truncated at 100000 bytes');
  });
});
