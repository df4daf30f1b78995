import { MemcacheClient } from 'memcache-client';
import { runSessionCheck } from './support/run-check';
import {
  freePort,
  makeCertificates,
  MemcachedProcess,
  memcachedTlsUnsupported,
  type TestCertificates,
} from './support/memcached-process';

describe('memcached over plain TCP', () => {
  const memcached = new MemcachedProcess();
  let store: Record<string, unknown>;
  beforeAll(async () => {
    store = { engine: 'memcached', host: '127.0.0.1', port: await memcached.start() };
  });
  afterAll(() => memcached.stop());

  it('passes reachability, canary and eviction, and leaves no canary behind', async () => {
    const report = await runSessionCheck({ store }, { deploymentId: 'd-MEMCACHE1' });
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(
      /^memcached 127\.0\.0\.1:\d+: reachable .*; canary write\/read\/delete ok .*; evictions 0$/,
    );
    const client = new MemcacheClient({ server: `127.0.0.1:${memcached.port}` });
    try {
      expect(
        await client.get('greenlight:canary:d-MEMCACHE1:sessions:AfterAllowTestTraffic'),
      ).toBeUndefined();
    } finally {
      client.shutdown();
    }
  });

  it('fails on evictions above maxEvictedKeys', async () => {
    const small = new MemcachedProcess({
      memoryMb: 2,
      extraArgs: ['-I', '256k', '-o', 'slab_chunk_max=131072'],
    });
    const port = await small.start();
    const client = new MemcacheClient({ server: `127.0.0.1:${port}` });
    try {
      const value = 'x'.repeat(100_000);
      for (let i = 0; i < 60; i++) await client.set(`fill-${i}`, value);
      const report = await runSessionCheck({
        store: { ...store, port },
        canary: false,
        eviction: { maxEvictedKeys: 0 },
      });
      expect(report.outcome).toBe('failed');
      expect(report.message).toMatch(/eviction risk: evictions is \d+, above 0: the store already evicts/);
    } finally {
      client.shutdown();
      await small.stop();
    }
  });

  it('is an error naming host and port when nothing listens', async () => {
    const port = await freePort();
    const report = await runSessionCheck({ store: { ...store, port, connectTimeoutMs: 500 } });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      new RegExp(`^memcached 127\\.0\\.0\\.1:${port}: unreachable: connect failed .*ECONNREFUSED`),
    );
  });
});

const noTls = memcachedTlsUnsupported();
if (noTls) {
  it.skip(`memcached over TLS is skipped: ${noTls}`, () => {});
}

(noTls ? describe.skip : describe)('memcached over TLS', () => {
  let certs: TestCertificates;
  const memcached = new MemcachedProcess();
  let tlsServer: MemcachedProcess;
  beforeAll(async () => {
    certs = makeCertificates();
    tlsServer = new MemcachedProcess({ tls: certs });
    await tlsServer.start();
  });
  afterAll(() => Promise.all([tlsServer.stop(), memcached.stop()]));

  it('passes with the server certificate verified against the configured CA', async () => {
    const report = await runSessionCheck({
      store: { engine: 'memcached', host: '127.0.0.1', port: tlsServer.port, tls: { caFile: certs.caFile } },
    });
    expect(report.outcome).toBe('passed');
    expect(report.message).toMatch(/^memcached 127\.0\.0\.1:\d+ \(TLS\): reachable/);
  });

  it.each([
    [
      'a CA that did not sign the certificate',
      () => ({ caFile: certs.otherCaFile }),
      /unable to verify|self.signed|certificate/i,
    ],
    ['the system CAs only', () => true, /unable to verify|self.signed|certificate/i],
    [
      'a server name the certificate does not carry',
      () => ({ caFile: certs.caFile, servername: 'cache.example.internal' }),
      /does not match|altnames|Hostname/i,
    ],
  ])('is an error with %s: verification stays on', async (_name, tls, reason) => {
    const report = await runSessionCheck({
      store: {
        engine: 'memcached',
        host: '127.0.0.1',
        port: tlsServer.port,
        tls: tls(),
        connectTimeoutMs: 1_000,
      },
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      new RegExp(`memcached 127\\.0\\.0\\.1:${tlsServer.port} \\(TLS\\): unreachable`),
    );
    expect(report.message).toMatch(reason);
  });
});
