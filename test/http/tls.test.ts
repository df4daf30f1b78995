import { createTestPki, startHttpsServer, type TestPki, type TestServer } from '../support/http-servers';
import { check } from './run-http-check';

let pki: TestPki;
let selfSigned: TestServer;
let vhosts: TestServer;

beforeAll(async () => {
  pki = createTestPki();
  selfSigned = await startHttpsServer((_req, res) => res.end('{"status":"ok"}'), {
    fallback: pki.selfSigned,
  });
  // One listener, two virtual hosts, like an ALB whose certificate names the production host.
  vhosts = await startHttpsServer(
    (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          host: req.headers.host,
          servername: (req.socket as { servername?: string }).servername ?? null,
        }),
      );
    },
    {
      fallback: pki.issue('default.example.test'),
      hosts: {
        'shop.example.test': pki.issue('shop.example.test'),
        'soon.example.test': pki.issue('soon.example.test', 5),
      },
    },
  );
});
afterAll(async () => {
  await Promise.all([selfSigned.close(), vhosts.close()]);
  pki.cleanup();
});

const once = { retry: { attempts: 1 } };

describe('certificate verification', () => {
  it('fails on a self-signed certificate and says why', async () => {
    const report = await check({ requests: [{ path: '/health' }], ...once }, { test: selfSigned.url });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      new RegExp(`^GET ${selfSigned.url}/health failed: TLS: self.signed certificate`, 'i'),
    );
  });

  it('fails on a certificate from an unknown CA', async () => {
    const report = await check(
      { requests: [{ path: '/', headers: { host: 'shop.example.test' } }], ...once },
      { test: vhosts.url },
    );
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/TLS: unable to (get|verify)/i);
  });

  it.each([
    ['inline PEM', () => ({ ca: pki.ca })],
    ['a file', () => ({ caFile: pki.caFile })],
  ])('passes when the CA is given as %s', async (_title, tls) => {
    const report = await check(
      { requests: [{ path: '/', headers: { host: 'shop.example.test' } }], tls: tls(), ...once },
      { test: vhosts.url },
    );
    expect(report.outcome).toBe('passed');
    expect(report.message).not.toContain('verification off');
  });

  it('trusts a self-signed certificate when it is given as the CA', async () => {
    const report = await check(
      { requests: [{ path: '/health' }], tls: { ca: pki.selfSigned.cert }, ...once },
      { test: selfSigned.url },
    );
    expect(report.outcome).toBe('passed');
  });

  it('reports an unreadable CA file as an error naming the file', async () => {
    const report = await check(
      { requests: [{ path: '/' }], tls: { caFile: '/nonexistent/ca.pem' }, ...once },
      { test: vhosts.url },
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toContain('cannot read tls.caFile /nonexistent/ca.pem: ENOENT');
  });

  it('skips verification only when insecure: true, and the result says so', async () => {
    const report = await check(
      { requests: [{ path: '/health' }], tls: { insecure: true }, ...once },
      { test: selfSigned.url },
    );
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/\(certificate verification off\)$/);
    expect(report.details!.insecure).toBe(true);
  });
});

describe('SNI and Host overrides', () => {
  it.each([
    [
      'a Host header (SNI follows it)',
      { headers: { host: 'shop.example.test' } },
      'shop.example.test',
      'shop.example.test',
    ],
    [
      'tls.serverName overriding the name a Host header implies',
      { headers: { host: 'soon.example.test' }, tls: { serverName: 'shop.example.test' } },
      'soon.example.test',
      'shop.example.test',
    ],
  ])('reaches the right virtual host with %s', async (_title, step, host, servername) => {
    const report = await check(
      {
        requests: [
          {
            path: '/',
            ...step,
            expect: {
              json: [
                { path: 'host', '==': host },
                { path: 'servername', '==': servername },
              ],
            },
          },
        ],
        tls: { ca: pki.ca },
        ...once,
      },
      { test: vhosts.url },
    );
    expect(report.outcome).toBe('passed');
  });

  it('verifies the certificate against the SNI name, not the IP address', async () => {
    const report = await check(
      {
        requests: [
          {
            path: '/',
            tls: { serverName: 'shop.example.test' },
            expect: { json: [{ path: 'servername', '==': 'shop.example.test' }] },
          },
        ],
        tls: { ca: pki.ca },
        ...once,
      },
      { test: vhosts.url },
    );
    expect(report.outcome).toBe('passed');
    const wrongName = await check(
      { requests: [{ path: '/', tls: { serverName: 'other.example.test' } }], tls: { ca: pki.ca }, ...once },
      { test: vhosts.url },
    );
    expect(wrongName.outcome).toBe('failed');
    expect(wrongName.message).toMatch(/TLS: .*other\.example\.test/);
  });
});

describe('certificate lifetime', () => {
  it('passes when the certificate has enough days left and records them', async () => {
    const report = await check(
      {
        requests: [
          { path: '/', headers: { host: 'shop.example.test' }, expect: { minCertificateDaysLeft: 20 } },
        ],
        tls: { ca: pki.ca },
        ...once,
      },
      { test: vhosts.url },
    );
    expect(report.outcome).toBe('passed');
    expect(report.assertions!.find((a) => a.what.endsWith('certificate days left'))).toMatchObject({
      expected: '≥ 20',
      actual: expect.any(Number),
      ok: true,
    });
    expect(report.details!.requests).toEqual([
      expect.objectContaining({
        certificate: expect.objectContaining({ subject: 'shop.example.test', issuer: 'greenlight test CA' }),
      }),
    ]);
  });

  it('fails when the certificate expires sooner than required', async () => {
    const report = await check(
      {
        requests: [
          { path: '/', headers: { host: 'soon.example.test' }, expect: { minCertificateDaysLeft: 14 } },
        ],
        tls: { ca: pki.ca },
        ...once,
      },
      { test: vhosts.url },
    );
    expect(report.outcome).toBe('failed');
    const failed = report.assertions!.find((a) => !a.ok)!;
    expect(failed).toMatchObject({ what: 'GET / certificate days left', expected: '≥ 14' });
    expect(failed.actual).toBeGreaterThanOrEqual(3);
    expect(failed.actual).toBeLessThanOrEqual(5);
  });

  it('fails a certificate assertion on plain HTTP', async () => {
    const { startHttpServer } = await import('../support/http-servers');
    const plain = await startHttpServer((_req, res) => res.end('ok'));
    try {
      const report = await check(
        { requests: [{ path: '/', expect: { minCertificateDaysLeft: 1 } }] },
        { test: plain.url },
      );
      expect(report.outcome).toBe('failed');
      expect(report.assertions!.find((a) => !a.ok)!.actual).toBe('not HTTPS');
    } finally {
      await plain.close();
    }
  });
});
