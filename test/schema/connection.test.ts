import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { schemaCheckType } from '../../checks/schema';
import { parseConfig } from '../../config/config';
import { ConfigError } from '../../lib/errors';
import { clearRegisteredSecrets } from '../../lib/redact';
import { silentLogger } from '../../lib/log';
import { PG_URL, runSchemaCheck } from './support';

const PASSWORD = 'hunter2-s3cret-value';
const contracts = { green: { inline: { reads: { users: ['id'] } } } };

/** A TCP port that accepts connections and then says nothing: a database that hangs. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs the check from YAML, as a hook would, with the password coming from the environment. */
async function runFromYaml(options: string) {
  const loaded = await parseConfig(
    `targets: { test: "http://127.0.0.1:9" }\nchecks:\n  db:\n    type: schema\n${options}\n    contracts: { green: { inline: { reads: { users: [id] } } } }\nhooks: { AfterAllowTestTraffic: [db] }\n`,
    { env: { DB_PASSWORD: PASSWORD }, checkTypes: [schemaCheckType] },
  );
  const [planned] = loaded.plan('AfterAllowTestTraffic');
  return planned!.check.run({
    signal: new AbortController().signal,
    deadline: Date.now() + 10_000,
    targets: loaded.targets,
    deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
    log: silentLogger,
  });
}

afterEach(() => clearRegisteredSecrets());

describe('an unreachable database', () => {
  it.each(['postgres', 'mysql'])(
    '%s: a refused connection is an error naming host and port, never the password',
    async (engine) => {
      const port = await closedPort();
      const report = await runFromYaml(
        `    url: ${engine}://app:${PASSWORD}@127.0.0.1:${port}/app\n    tls: { mode: disable }`,
      );
      expect(report.outcome).toBe('error');
      const name = engine === 'postgres' ? 'PostgreSQL' : 'MySQL';
      expect(report.message).toMatch(
        new RegExp(`^cannot connect to ${name} at 127\\.0\\.0\\.1:${port} as app: .*ECONNREFUSED`),
      );
      expect(JSON.stringify(report)).not.toContain(PASSWORD);
    },
  );

  it.each(['postgres', 'mysql'])(
    '%s: a server that never answers is an error within the connect timeout',
    async (engine) => {
      const server = await silentServer();
      try {
        const t0 = performance.now();
        const report = await runFromYaml(
          `    engine: ${engine}\n    host: 127.0.0.1\n    port: ${server.port}\n    user: app\n    password: \${env:DB_PASSWORD}\n    database: app\n    tls: { mode: disable }\n    connectTimeoutMs: 300`,
        );
        const elapsed = performance.now() - t0;
        expect(report.outcome).toBe('error');
        expect(report.message).toMatch(
          new RegExp(
            `^cannot connect to (PostgreSQL|MySQL) at 127\\.0\\.0\\.1:${server.port} as app: timed out after 300 ms`,
          ),
        );
        expect(JSON.stringify(report)).not.toContain(PASSWORD);
        expect(elapsed).toBeLessThan(3_000);
      } finally {
        await server.close();
      }
    },
  );

  it('keeps the password out of a MariaDB authentication failure', async () => {
    const report = await runFromYaml(
      `    url: mysql://root@127.0.0.1:3306/test\n    password: \${env:DB_PASSWORD}\n    tls: { mode: disable }`,
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /^cannot connect to MySQL at 127\.0\.0\.1:3306 as root: ER_ACCESS_DENIED_ERROR: Access denied for user 'root'@'(localhost|127\.0\.0\.1)' \(using password: YES\)/,
    );
    expect(JSON.stringify(report)).not.toContain(PASSWORD);
  });

  it('stops at once when the hook deadline fires during the connect', async () => {
    const server = await silentServer();
    const controller = new AbortController();
    try {
      setTimeout(() => controller.abort(new Error('did not finish before the hook deadline')), 100);
      const t0 = performance.now();
      const report = await runSchemaCheck(
        {
          engine: 'postgres',
          host: '127.0.0.1',
          port: server.port,
          user: 'app',
          database: 'app',
          tls: { mode: 'disable' },
          connectTimeoutMs: 10_000,
          contracts,
        },
        { signal: controller.signal },
      );
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(/: stopped/);
      expect(performance.now() - t0).toBeLessThan(3_000);
    } finally {
      await server.close();
    }
  });
});

describe('TLS and connection options', () => {
  it('verifies TLS by default: a server without TLS is an error, not a silent downgrade', async () => {
    const report = await runSchemaCheck({ url: 'postgres://postgres@127.0.0.1:5432/test', contracts });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /^cannot connect to PostgreSQL at 127\.0\.0\.1:5432 as postgres: The server does not support SSL connections/,
    );
  });

  it('reports an unreadable CA bundle by its path', async () => {
    const report = await runSchemaCheck({
      url: 'postgres://postgres@127.0.0.1:5432/test',
      tls: { caFile: '/nonexistent/global-bundle.pem' },
      contracts,
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(/^cannot read tls\.caFile \/nonexistent\/global-bundle\.pem: .*ENOENT/);
  });

  it.each([
    {
      options: { url: 'postgres://u@h/db?sslmode=require' },
      error: /checks\.db\.url: sslmode=require does not verify the server; use verify-full/,
    },
    {
      options: { url: 'redis://h/0' },
      error:
        /checks\.db\.url: expected a postgres:\/\/, postgresql:\/\/, mysql:\/\/ or mariadb:\/\/ URL, got redis:\/\//,
    },
    {
      options: { url: 'postgres://u@h/db?application_name=x' },
      error: /checks\.db\.url: unsupported URL parameter "application_name"/,
    },
    {
      options: { host: 'h', user: 'u', database: 'd' },
      error: /checks\.db\.engine: required when no url is given: expected "postgres" or "mysql"/,
    },
    {
      options: { url: 'mysql://u@h/db', engine: 'postgres' },
      error: /checks\.db\.engine: "postgres" contradicts the mysql:\/\/ URL/,
    },
    {
      options: { url: 'postgres://u@h/db', tls: { mode: 'prefer' } },
      error:
        /checks\.db\.tls\.mode: expected "verify-full" \(default\), "verify-ca" or "disable"; unverified TLS is not offered/,
    },
    {
      options: { url: 'postgres://u@h/db', port: 70000 },
      error: /checks\.db\.port: expected a port 1–65535/,
    },
    { options: { url: 'postgres://u@h/db', passwd: 'x' }, error: /checks\.db\.passwd: unknown key/ },
    { options: { url: 'postgres://h/db' }, error: /checks\.db\.url: expected a database user/ },
  ])('rejects bad connection options at config load: $error', async ({ options, error }) => {
    const text = JSON.stringify({
      targets: { test: 'http://127.0.0.1:9' },
      checks: { db: { type: 'schema', ...options, contracts } },
    });
    const load = parseConfig(text, { checkTypes: [schemaCheckType] });
    await expect(load).rejects.toThrow(ConfigError);
    await expect(parseConfig(text, { checkTypes: [schemaCheckType] })).rejects.toThrow(error);
  });

  it('never puts a URL password in a config error', async () => {
    const text = JSON.stringify({
      targets: { test: 'http://127.0.0.1:9' },
      checks: { db: { type: 'schema', url: `postgres://u:${PASSWORD}@h/db?sslmode=bogus`, contracts } },
    });
    const err = await parseConfig(text, { checkTypes: [schemaCheckType] }).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/unknown sslmode "bogus"/);
    expect(String((err as Error).message)).not.toContain(PASSWORD);
  });
});

it('connects over the same URL with sslmode=disable (the local database has no TLS)', async () => {
  const report = await runSchemaCheck({ url: PG_URL, contracts: { green: { inline: { reads: {} } } } });
  expect(report.outcome).toBe('passed');
  expect(report.assertions?.[0]).toEqual({
    what: 'connect PostgreSQL postgres@127.0.0.1:5432/test',
    expected: 'connected',
    actual: 'connected without TLS',
    ok: true,
  });
});
