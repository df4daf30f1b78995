import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schemaCheckType } from '../../checks/schema';
import { buildConfig } from '../../config/config';
import { ConfigError } from '../../lib/errors';
import { findingMessages, PG_URL, runSchemaCheck, scratchPg, type ScratchPg } from './support';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function serve(
  handler: Handler,
  server: Server = createServer(),
): Promise<{ url: string; close(): Promise<void> }> {
  server.on('request', handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const json =
  (body: unknown): Handler =>
  (req, res) => {
    if (req.url !== '/.well-known/greenlight/contract.json') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

let db: ScratchPg;
beforeEach(async () => {
  db = await scratchPg();
  await db.exec('CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, nickname text)');
});
afterEach(() => db.drop());

const contract = (columns: string[]) => ({
  schemas: [db.schema],
  reads: { users: columns },
  writes: { users: columns },
});
const fromTargets = { green: { target: 'test' }, blue: { target: 'prod' } };

describe('contracts served by the versions themselves', () => {
  it("takes green's contract from the test target and blue's from the prod target", async () => {
    await db.exec('ALTER TABLE users DROP COLUMN nickname');
    const green = await serve(json(contract(['id', 'email'])));
    const blue = await serve(json(contract(['id', 'email', 'nickname'])));
    try {
      const report = await runSchemaCheck(
        { url: PG_URL, contracts: fromTargets },
        { targets: { test: green.url, prod: blue.url } },
      );
      expect(report.outcome).toBe('failed');
      expect(findingMessages(report)).toEqual([
        "failure: blue reads users.nickname, which is missing (dropped or renamed): blue's SELECTs that name it will fail",
        "failure: blue writes users.nickname, which is missing (dropped or renamed): blue's INSERTs and UPDATEs that name it will fail",
      ]);
      expect(report.details?.contracts).toEqual({
        green: { from: `GET ${green.url}/.well-known/greenlight/contract.json`, version: null },
        blue: { from: `GET ${blue.url}/.well-known/greenlight/contract.json`, version: null },
      });
    } finally {
      await green.close();
      await blue.close();
    }
  });

  it('skips blue, and says so, when its optional contract is not served (404)', async () => {
    const green = await serve(json(contract(['id', 'email'])));
    const blue = await serve((_req, res) => res.writeHead(404).end());
    try {
      const report = await runSchemaCheck(
        { url: PG_URL, contracts: { green: { target: 'test' }, blue: { target: 'prod', optional: true } } },
        { targets: { test: green.url, prod: blue.url } },
      );
      expect(report.outcome).toBe('passed');
      expect(report.message).toMatch(
        new RegExp(
          `; blue not checked: GET ${blue.url}/.well-known/greenlight/contract.json returned 404, expected 200 \\(\\d+ ms\\)$`,
        ),
      );
    } finally {
      await green.close();
      await blue.close();
    }
  });

  it.each([
    {
      what: 'a contract that does not validate',
      handler: json({ reads: { users: 'id' } }),
      message:
        /^invalid contract: green's contract GET \S+ is invalid: reads\.users: expected a list, got "id"$/,
    },
    {
      what: 'invalid JSON',
      handler: ((_req, res) => res.writeHead(200).end('{"reads": ')) as Handler,
      message: /^invalid contract: green's contract GET \S+ is not valid JSON: /,
    },
    {
      what: 'a 500',
      handler: ((_req, res) => res.writeHead(500).end('boom')) as Handler,
      message: /^green's contract: GET \S+ returned 500, expected 200 \(\d+ ms\)$/,
    },
    {
      what: 'a huge body',
      handler: ((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"reads": {"users": [');
        const chunk = '"c",'.repeat(16_384);
        for (let i = 0; i < 40; i++) res.write(chunk);
        res.end('"c"]}}');
      }) as Handler,
      message: /^green's contract: GET \S+ sent more than the 1048576-byte limit \(\d+ ms\)$/,
    },
    {
      what: 'a declared length over the limit',
      handler: ((_req, res) => {
        res.writeHead(200, { 'content-length': String(5_000_000) });
        const chunk = ' '.repeat(65_536);
        for (let i = 0; i < 32; i++) res.write(chunk);
      }) as Handler,
      message:
        /^green's contract: GET \S+ declared 5000000 bytes, more than the 1048576-byte limit \(\d+ ms\)$/,
    },
    {
      what: 'a body that never ends',
      handler: ((_req, res) => res.writeHead(200).write('{')) as Handler,
      message:
        /^green's contract: GET \S+ timed out after \d+ ms \(reading the body, 1 bytes received\) \[no time left for another attempt\]$/,
    },
    {
      what: 'no response at all',
      handler: (() => {}) as Handler,
      message:
        /^green's contract: GET \S+ timed out after \d+ ms \(waiting for response headers\) \[no time left for another attempt\]$/,
    },
  ])('ends in error, saying why, on $what', async ({ handler, message }) => {
    const server = await serve(handler);
    try {
      const t0 = performance.now();
      const report = await runSchemaCheck(
        { url: PG_URL, contracts: { green: { target: 'test' } }, contractTimeoutMs: 300 },
        { targets: { test: server.url } },
      );
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(message);
      expect(performance.now() - t0).toBeLessThan(3_000);
    } finally {
      await server.close();
    }
  });

  it('verifies TLS: a self-signed certificate is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'schema-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const { readFileSync } = await import('node:fs');
    const https = createHttpsServer({
      key: readFileSync(join(dir, 'key.pem')),
      cert: readFileSync(join(dir, 'cert.pem')),
    });
    const server = await serve(json(contract(['id'])), https);
    const url = server.url.replace(/^http:/, 'https:');
    try {
      const report = await runSchemaCheck({
        url: PG_URL,
        contracts: { green: { url: `${url}/.well-known/greenlight/contract.json` } },
      });
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        /^green's contract: GET https:\/\/127\.0\.0\.1:\d+\/\.well-known\/greenlight\/contract\.json failed: TLS: self.signed certificate$/,
      );
    } finally {
      await server.close();
    }
  });

  it('retries a refused connection within the contract timeout, then says it was refused', async () => {
    const closed = await serve(() => {});
    await closed.close();
    const report = await runSchemaCheck(
      { url: PG_URL, contracts: { green: { target: 'test' } }, contractTimeoutMs: 2_000 },
      { targets: { test: closed.url } },
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /^green's contract: GET http:\/\/127\.0\.0\.1:(\d+)\/\S+ failed: connect ECONNREFUSED 127\.0\.0\.1:\1 \[3 attempts\]$/,
    );
  });

  it('retries a 503 from a target that is still starting', async () => {
    let calls = 0;
    const ready = json(contract(['id', 'email']));
    const server = await serve((req, res) => (++calls === 1 ? res.writeHead(503).end() : ready(req, res)));
    try {
      const report = await runSchemaCheck(
        { url: PG_URL, contracts: { green: { target: 'test' } } },
        { targets: { test: server.url } },
      );
      expect(report.outcome).toBe('passed');
      expect(calls).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('stops when the check is stopped, saying why', async () => {
    const server = await serve(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('hook deadline')), 100);
    try {
      const t0 = performance.now();
      const report = await runSchemaCheck(
        { url: PG_URL, contracts: { green: { target: 'test' } } },
        { targets: { test: server.url }, signal: controller.signal },
      );
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        /^green's contract: GET \S+ failed: stopped while waiting for response headers: hook deadline$/,
      );
      expect(performance.now() - t0).toBeLessThan(2_000);
    } finally {
      await server.close();
    }
  });

  it('redacts a password in the contract URL', async () => {
    const server = await serve((_req, res) => res.writeHead(500).end());
    const url = server.url.replace('//', '//reader:hunter2-secret@');
    try {
      const report = await runSchemaCheck({
        url: PG_URL,
        contracts: { green: { url: `${url}/.well-known/greenlight/contract.json` } },
      });
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        /^green's contract: GET http:\/\/reader:\[redacted\]@127\.0\.0\.1:\d+\/\S+ returned 500, expected 200 \(\d+ ms\)$/,
      );
      expect(report.message).not.toContain('hunter2');
    } finally {
      await server.close();
    }
  });
});

describe('contracts from files and from the config', () => {
  it('reads a contract file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'schema-contract-'));
    const file = join(dir, 'green.json');
    writeFileSync(file, JSON.stringify(contract(['id', 'email', 'phone'])));
    const report = await runSchemaCheck({ url: PG_URL, contracts: { green: { file } } });
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(/^green reads users\.phone, which is missing/);
    expect(report.details?.contracts).toMatchObject({ green: { from: `file ${file}` } });
  });

  it.each([
    {
      options: { contracts: { green: { inline: { reads: { users: ['id'] }, write: {} } } } },
      error: /checks\.db\.contracts\.green\.inline\.write: unknown key/,
    },
    {
      options: { contracts: { green: { inline: { enums: { status: ['a'] } } } } },
      error:
        /checks\.db\.contracts\.green\.inline\.enums\.status: expected "table\.column" or "schema\.table\.column"/,
    },
    {
      options: { contracts: { green: { inline: { migrations: { tool: 'custom' } } } } },
      error: /contracts\.green\.inline\.migrations\.table: expected a table name for tool "custom"/,
    },
    {
      options: {
        contracts: { green: { inline: { migrations: { tool: 'flyway', known: { V1: 'shrink' } } } } },
      },
      error: /migrations\.known\.V1: expected one of "expand", "contract", got "shrink"/,
    },
    {
      options: { contracts: { green: { file: 'a.json', target: 'test' } } },
      error:
        /checks\.db\.contracts\.green: expected exactly one of file, url, target or inline, got file and target/,
    },
    {
      options: { contracts: { green: { target: 'staging' } } },
      error: /checks\.db\.contracts\.green\.target: unknown target "staging"; defined targets: test/,
    },
    {
      options: { contracts: { green: { target: 'test' } }, sqlMode: 'STRICT_ALL_TABLES' },
      error: /checks\.db\.sqlMode: applies to MySQL\/MariaDB only/,
    },
  ])('rejects a bad contract source at config load: $error', ({ options, error }) => {
    const build = () =>
      buildConfig(
        {
          targets: { test: 'http://127.0.0.1:9' },
          checks: { db: { type: 'schema', url: PG_URL, ...options } },
        },
        { checkTypes: [schemaCheckType] },
      );
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(error);
  });
});
