import { randomBytes } from 'node:crypto';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import { createConnection } from 'mysql2/promise';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { alarmsCheckType } from '../../checks/alarms';
import { awsClientConfig } from '../../lib/aws';
import { reportHookStatus } from '../../hooks/codedeploy-report';
import { connectionHint } from '../../lib/connection-hint';
import { defaultDiscoveryClients } from '../../checks/discovery/deployment';
import { discoverTargets } from '../../checks/discovery/listeners';
import { silentLogger } from '../../lib/log';
import { resetSecretSources, secretResolvers } from '../../config/secret-resolvers';
import { clearRegisteredSecrets } from '../../lib/redact';
import { checkFrom, contextFor } from '../cloudwatch/cloudwatch-test-kit';
import { runSchemaCheck } from '../schema/support';
import { runSessionCheck } from '../session/support/run-check';
import { createTestPki, freePort, type TestPki } from '../support/http-servers';

const contracts = { green: { inline: { reads: { users: ['id'] } } } };
/** Words that would tell a user to switch verification off: never the first thing to try. */
const DISABLE_VERIFICATION =
  /mode: disable|insecure|rejectUnauthorized|verify-ca|NODE_TLS_REJECT_UNAUTHORIZED/;

let pki: TestPki;
beforeAll(() => {
  pki = createTestPki();
});
afterAll(() => pki.cleanup());
afterEach(() => clearRegisteredSecrets());

/** Listens on 127.0.0.1 until `close`; every socket is destroyed on close. */
async function listen(server: Server): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A server that accepts PostgreSQL's SSLRequest and then presents a self-signed certificate. */
function selfSignedPostgres() {
  return listen(
    createNetServer((socket) => {
      socket.once('data', () => {
        socket.write('S');
        const secure = new TLSSocket(socket, { isServer: true, ...pki.selfSigned });
        secure.on('error', () => {});
      });
      socket.on('error', () => {});
    }),
  );
}

describe('a database connection that fails says what to change', () => {
  it.each([
    { engine: 'PostgreSQL', url: 'postgres://postgres@127.0.0.1:5432/test', says: /SSL connections/ },
    { engine: 'MySQL', url: 'mysql://root@127.0.0.1:3306/test', says: /HANDSHAKE_NO_SSL_SUPPORT/ },
  ])('$engine without TLS, asked for TLS: set tls mode disable or sslmode=disable', async ({ url, says }) => {
    const report = await runSchemaCheck({ url, contracts });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(says);
    expect(report.message).toMatch(
      /; the server does not offer TLS: if it is reached over a private network only, set tls: \{ mode: disable \} \(or \?sslmode=disable in the url\)$/,
    );
  });

  it.each(['postgres', 'mysql'])(
    '%s on a closed port: check port, never showing the password',
    async (engine) => {
      const port = await freePort();
      const password = `pw-${randomBytes(6).toString('hex')}`;
      const report = await runSchemaCheck({
        url: `${engine}://app:${password}@127.0.0.1:${port}/app?sslmode=disable`,
        contracts,
      });
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        new RegExp(
          `ECONNREFUSED.*; nothing listens on 127\\.0\\.0\\.1:${port}: check port \\(the default is ${engine === 'postgres' ? 5432 : 3306}\\) and host`,
        ),
      );
      expect(JSON.stringify(report)).not.toContain(password);
    },
  );

  it('MariaDB with a wrong password: check user and password, never showing either password', async () => {
    const user = `gl_${randomBytes(4).toString('hex')}`;
    const password = `right-${randomBytes(6).toString('hex')}`;
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    const admin = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    try {
      const report = await runSchemaCheck({
        url: `mysql://${user}:${wrong}@127.0.0.1:3306/test?sslmode=disable`,
        contracts,
      });
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        new RegExp(`ER_ACCESS_DENIED_ERROR.*; the server refused ${user}: check user and password`),
      );
      expect(JSON.stringify(report)).not.toContain(wrong);
      expect(JSON.stringify(report)).not.toContain(password);
    } finally {
      await admin.query(`DROP USER '${user}'@'%'`);
      await admin.end();
    }
  });

  it('PostgreSQL with a role that does not exist: check user and password', async () => {
    const role = `nobody_${randomBytes(4).toString('hex')}`;
    const report = await runSchemaCheck({
      url: `postgres://${role}@127.0.0.1:5432/test?sslmode=disable`,
      contracts,
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      new RegExp(`role "${role}" does not exist.*; the server refused ${role}: check user and password`),
    );
  });

  it('PostgreSQL with a database that does not exist: check database', async () => {
    const report = await runSchemaCheck({
      url: `postgres://postgres@127.0.0.1:5432/nodb_${randomBytes(4).toString('hex')}?sslmode=disable`,
      contracts,
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /does not exist.*; check database \(the path of the url\): the server has no database of that name$/,
    );
  });

  it('a host name that does not resolve: check host', async () => {
    const report = await runSchemaCheck({
      url: 'postgres://app@db.invalid:5432/app?sslmode=disable',
      contracts,
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(/ENOTFOUND.*; db\.invalid does not resolve: check host/);
  });

  it('a certificate from a CA the hook does not trust: give the CA with tls.caFile, not less verification', async () => {
    const server = await selfSignedPostgres();
    try {
      const report = await runSchemaCheck({ url: `postgres://app@127.0.0.1:${server.port}/app`, contracts });
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        /self-signed certificate.*; the server's certificate is signed by a CA this hook does not trust: give that CA with tls\.caFile/,
      );
      expect(report.message).not.toMatch(DISABLE_VERIFICATION);
    } finally {
      await server.close();
    }
  });
});

describe('a session store connection that fails says what to change', () => {
  it.each([
    { engine: 'redis', defaultPort: 6379 },
    { engine: 'memcached', defaultPort: 11211 },
  ])('$engine on a closed port: check store.port', async ({ engine, defaultPort }) => {
    const port = await freePort();
    const report = await runSessionCheck({
      store: { engine, host: '127.0.0.1', port, connectTimeoutMs: 500 },
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      new RegExp(
        `ECONNREFUSED.*; nothing listens on 127\\.0\\.0\\.1:${port}: check store\\.port \\(the default is ${defaultPort}\\) and store\\.host`,
      ),
    );
  });

  it('Redis without TLS, asked for TLS: set store.tls: false', async () => {
    const report = await runSessionCheck({
      store: { engine: 'redis', host: '127.0.0.1', port: 6379, tls: true, connectTimeoutMs: 300 },
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /127\.0\.0\.1:6379 did not answer: if in-transit encryption is off on the store, set store\.tls: false/,
    );
  });

  it('Redis with credentials it refuses: check store.username and store.password, never showing the password', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const report = await runSessionCheck({
      store: {
        engine: 'redis',
        host: '127.0.0.1',
        port: 6379,
        username: `nobody-${randomBytes(4).toString('hex')}`,
        password,
      },
    });
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /WRONGPASS.*; the server refused the credentials: check store\.username and store\.password/,
    );
    expect(JSON.stringify(report)).not.toContain(password);
  });

  it('Redis with a certificate from a CA the hook does not trust: give the CA with store.tls caFile', async () => {
    const server = await listen(createTlsServer(pki.selfSigned, (socket) => socket.on('error', () => {})));
    try {
      const report = await runSessionCheck({
        store: { engine: 'redis', host: '127.0.0.1', port: server.port, tls: true, connectTimeoutMs: 1_000 },
      });
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        /self-signed certificate.*; the server's certificate is signed by a CA this hook does not trust: give that CA with store\.tls: \{ caFile \}/,
      );
      expect(report.message).not.toMatch(DISABLE_VERIFICATION);
    } finally {
      await server.close();
    }
  });
});

describe('an AWS endpoint that cannot be reached says where it came from', () => {
  const saved = { ...process.env };
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    // The clients read these when they are created, in the tests below.
    process.env.AWS_ENDPOINT_URL_CLOUDWATCH = `http://127.0.0.1:${port}`;
    process.env.AWS_ENDPOINT_URL_CODEDEPLOY = `http://127.0.0.1:${port}/some/path`;
  });
  afterAll(() => {
    process.env = saved;
  });

  it('CodeDeploy on a closed port: the report error names AWS_ENDPOINT_URL_CODEDEPLOY', async () => {
    const client = new CodeDeployClient(awsClientConfig());
    const delivery = reportHookStatus(
      client,
      { deploymentId: 'd-HINTS0001', lifecycleEventHookExecutionId: 'hints-execution' },
      'Succeeded',
      { timeoutMs: 5_000, log: silentLogger },
    );
    await expect(delivery).rejects.toThrow(
      new RegExp(
        `ECONNREFUSED.*; the endpoint comes from AWS_ENDPOINT_URL_CODEDEPLOY=http://127\\.0\\.0\\.1:${port}: correct it, or unset it to use the AWS endpoint$`,
      ),
    );
  });

  it('Secrets Manager on a closed port: a secret reference names AWS_ENDPOINT_URL_SECRETS_MANAGER', async () => {
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${port}`;
    resetSecretSources();
    await expect(secretResolvers().secretsmanager('prod/web/db#password')).rejects.toThrow(
      new RegExp(
        `ECONNREFUSED.*; the endpoint comes from AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127\\.0\\.0\\.1:${port}: correct it`,
      ),
    );
  });

  it('discovery with CodeDeploy on a closed port: the error names AWS_ENDPOINT_URL_CODEDEPLOY', async () => {
    const discovery = await discoverTargets('d-HINTS0001', defaultDiscoveryClients());
    expect(discovery.report.outcome).toBe('error');
    expect(discovery.report.message).toMatch(
      new RegExp(
        `ECONNREFUSED.*; the endpoint comes from AWS_ENDPOINT_URL_CODEDEPLOY=http://127\\.0\\.0\\.1:${port}: correct it`,
      ),
    );
  });

  it('CloudWatch on a closed port: names AWS_ENDPOINT_URL_CLOUDWATCH and its value', async () => {
    const report = await checkFrom(alarmsCheckType, { names: ['web-5xx'] }).run(contextFor());
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      new RegExp(
        `DescribeAlarms failed.*ECONNREFUSED.*; the endpoint comes from AWS_ENDPOINT_URL_CLOUDWATCH=http://127\\.0\\.0\\.1:${port}: correct it, or unset it to use the AWS endpoint`,
      ),
    );
  });
});

describe('hints for faults this machine cannot stage', () => {
  const database = {
    kind: 'database',
    engine: 'postgres',
    host: 'db.internal',
    port: 5432,
    user: 'app',
  } as const;

  it.each([
    {
      fault: 'a silent AWS endpoint with no endpoint variable set',
      err: { code: 'ETIMEDOUT' },
      target: { kind: 'aws', service: 'cloudwatch' } as const,
      hint: 'the AWS endpoint is out of reach: a hook in a VPC needs a NAT gateway or the com.amazonaws.<region>.monitoring interface endpoint',
    },
    {
      fault: 'no route to the database',
      err: Object.assign(new Error('connect EHOSTUNREACH 10.0.3.4:5432'), { code: 'EHOSTUNREACH' }),
      target: database,
      hint: "no network route to db.internal: run the hook in the database's VPC, with a security group the database admits",
    },
    {
      fault: 'a certificate for another name',
      err: Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      }),
      target: database,
      hint: "the server's certificate does not name db.internal: connect by a name it carries, or set tls.servername to one",
    },
    {
      fault: 'a PostgreSQL server that takes TLS connections only',
      err: new Error('no pg_hba.conf entry for host "10.0.0.9", user "app", database "app", no encryption'),
      target: database,
      hint: 'the server accepts TLS connections only: remove tls: { mode: disable } (or sslmode=disable from the url)',
    },
  ])('$fault', ({ err, target, hint }) => {
    const saved = { ...process.env };
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH;
    try {
      expect(connectionHint(err, target)).toBe(hint);
    } finally {
      process.env = saved;
    }
  });

  it('gives no hint for a failure that is not a known misconfiguration', () => {
    expect(connectionHint(new Error('relation "users" does not exist'), database)).toBeUndefined();
  });
});
