import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createConnection, type Connection } from 'mysql2/promise';
import { AwsJsonServer } from '../support/aws-json-server';
import { CodeDeployOverMoto } from '../support/codedeploy-over-moto';
import { MotoServer } from '../support/moto-server';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { MemcachedProcess } from '../session/support/memcached-process';
import {
  alarm,
  blueGreenDeployment,
  datapoints,
  parameter,
  secret,
  type BlueGreenWorld,
} from '../support/aws-world';
import { ecsHookEvent, GREEN_REVISION } from '../support/ecs-hook-events';
import { fixture } from '../watch/support/watch-world';
import { invoke, packageStack, verdicts, type InvokeResult, type PackagedStack } from './artifact-kit';

// The CodeDeploy hooks as a user deploys them: one `serverless package` of a config that uses
// every check type and both secret providers, each function unzipped outside the project and
// invoked on the runtime's Node line, against moto (CloudWatch, ECS, ELBv2, CodeDeploy reads,
// Secrets Manager, SSM), the machine's PostgreSQL, MariaDB and Redis, a memcached of its own and
// loopback HTTP servers for blue and green. Every check type passes once and fails once, and every
// invocation reports exactly once.
jest.setTimeout(300_000);

const run = randomBytes(3).toString('hex');
const moto = new MotoServer();
const codedeploy = new CodeDeployOverMoto(() => moto.url);
const memcached = new MemcachedProcess();
/** ECS DescribeServiceDeployments and DescribeServiceRevisions, which moto does not implement. */
const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
const serviceDeployment = { status: 'IN_PROGRESS' };
let stack: PackagedStack;
let world: BlueGreenWorld;
let green: TestServer;
let blue: TestServer;
let pg: Client;
let mysql: Connection;

const pgSchema = `art_${run}`;
const mysqlDatabase = `art_${run}`;
const alarmName = `art-${run}-5xx`;
const metric = { namespace: 'Greenlight/Artifact', name: 'Errors', dimensions: { Run: run } };
const SMOKE_TOKEN = `smoke-${run}-token`;
const DB_PASSWORD = `pw-${run}`;

/**
 * What green needs from MariaDB: besides users, tables in legacy character sets with ENUM values
 * outside ASCII. The bundle's mysql2 has iconv-lite's Unicode codecs only
 * (deploy/mysql-driver-trim.js): the server sends everything as utf8mb4, whatever the tables' own
 * character sets, and the check must still read each value right.
 */
const MYSQL_LEGACY = {
  reads: { users: ['id', 'email'], orders: ['total', 'status'], products: ['kind'], prices: ['unit'] },
  enums: { 'orders.status': ['новый', 'оплачен'], 'products.kind': ['食品', '雑貨'], 'prices.unit': ['元'] },
};
const MYSQL_LEGACY_TABLES = [
  "CREATE TABLE orders (total int, status ENUM('новый','оплачен')) DEFAULT CHARSET=cp1251",
  "CREATE TABLE products (kind ENUM('食品','雑貨')) DEFAULT CHARSET=sjis",
  "CREATE TABLE prices (unit ENUM('元','角')) DEFAULT CHARSET=gbk",
];

/** What green answers: its health status, and the session contract it serves. */
const app = { greenHealth: 200, greenCookie: 'sid' };

function sessionContract(cookieName: string) {
  return { keyPrefix: `art-${run}:`, cookieName, codec: 'json' };
}

function config(memcachedPort: number): string {
  const contract = (schemas: string) => ({
    engine: undefined,
    schemas: [schemas],
    reads: { users: ['id', 'email'] },
  });
  // failFast off: each failing check runs to its own verdict, so each shows its evidence.
  return `
runner: { failFast: false }
targets:
  test: ${green.url}
  prod: ${blue.url}
checks:
  smoke:
    type: http
    requests:
      - path: /health
        headers: { authorization: "Bearer \${ssm:/art/${run}/smoke-token}" }
        expect: { status: 200 }
  pg:
    type: schema
    url: postgres://postgres@127.0.0.1:5432/test?sslmode=disable
    password: "\${secretsmanager:art/${run}/db#password}"
    contracts: { green: { inline: ${JSON.stringify({ ...contract(pgSchema), engine: 'postgres' })} } }
  mysql:
    type: schema
    url: mysql://root@127.0.0.1:3306/${mysqlDatabase}?sslmode=disable
    contracts: { green: { inline: ${JSON.stringify({ ...contract(mysqlDatabase), engine: 'mysql', ...MYSQL_LEGACY })} } }
  redis-sessions:
    type: session
    store: { engine: redis, host: 127.0.0.1, port: 6379 }
    contracts: { blue: { target: prod }, green: { target: test } }
    sample: false
  memcached-sessions:
    type: session
    store: { engine: memcached, host: 127.0.0.1, port: ${memcachedPort} }
    contracts: { blue: { target: prod }, green: { target: test } }
  alarms:
    type: alarms
    names: [${alarmName}]
  errors:
    type: metrics
    queries:
      - id: errors
        metric: ${JSON.stringify(metric)}
        stat: Sum
    windowSeconds: 900
    condition: { aggregate: max, atMost: 5 }
hooks:
  BeforeInstall: [pg]
  AfterInstall: [mysql]
  AfterAllowTestTraffic: [smoke, redis-sessions, memcached-sessions]
  BeforeAllowTraffic: [alarms, errors]
  AfterAllowTraffic: [smoke]
  POST_TEST_TRAFFIC_SHIFT: [smoke]
  PRODUCTION_TRAFFIC_SHIFT: [alarms]
`;
}

beforeAll(async () => {
  const serve = (who: 'blue' | 'green') =>
    startHttpServer((req, res) => {
      if (req.url === '/health') {
        const ok = req.headers.authorization === `Bearer ${SMOKE_TOKEN}`;
        const status = !ok ? 401 : who === 'green' ? app.greenHealth : 200;
        return res.writeHead(status).end(status === 200 ? 'ok' : 'not ok');
      }
      if (req.url === '/.well-known/greenlight/session.json')
        return res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(sessionContract(who === 'green' ? app.greenCookie : 'sid')));
      return res.writeHead(404).end();
    });
  [green, blue] = await Promise.all([serve('green'), serve('blue')]);
  await Promise.all([moto.start(), codedeploy.start(), memcached.start(), ecs.start()]);
  ecs.on('DescribeServiceDeployments', (call) => ({
    body: {
      serviceDeployments: [
        {
          serviceDeploymentArn: (call.body.serviceDeploymentArns as string[])[0],
          status: serviceDeployment.status,
        },
      ],
      failures: [],
    },
  }));

  pg = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  await pg.connect();
  await pg.query(
    `CREATE SCHEMA ${pgSchema}; CREATE TABLE ${pgSchema}.users (id bigint PRIMARY KEY, email text)`,
  );
  mysql = await createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
  await mysql.query(
    `CREATE DATABASE ${mysqlDatabase}; USE ${mysqlDatabase}; CREATE TABLE users (id bigint PRIMARY KEY, email text); ${MYSQL_LEGACY_TABLES.join('; ')}`,
  );

  world = await blueGreenDeployment(moto.url, `art${run}`);
  await secret(moto.url, `art/${run}/db`, { password: DB_PASSWORD });
  await parameter(moto.url, `/art/${run}/smoke-token`, SMOKE_TOKEN);
  await alarm(moto.url, alarmName, 'OK');

  stack = await packageStack(config(memcached.port));
});

afterAll(async () => {
  await pg?.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
  await pg?.end();
  await mysql?.query(`DROP DATABASE IF EXISTS ${mysqlDatabase}`);
  await mysql?.end();
  await Promise.all([
    green?.close(),
    blue?.close(),
    moto.stop(),
    codedeploy.stop(),
    memcached.stop(),
    ecs.stop(),
  ]);
  stack?.remove();
});

let executions = 0;
/** Invokes one CodeDeploy hook of the package with a fresh execution id against the local AWS. */
async function hook(key: string): Promise<InvokeResult & { executionId: string }> {
  const executionId = `exec-${run}-${++executions}`;
  const fn = stack.functions.get(key);
  if (!fn) throw new Error(`no function ${key} in the package: ${[...stack.functions.keys()].join(', ')}`);
  const result = await invoke(
    fn,
    [{ DeploymentId: world.deploymentId, LifecycleEventHookExecutionId: executionId }],
    {
      timeoutS: 60,
      env: { AWS_ENDPOINT_URL: moto.url, AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.server.url },
    },
  );
  return { ...result, executionId };
}

/** The hook reported `status` exactly once, returned normally, and its verdict reason matches. */
function expectReported(
  result: InvokeResult & { executionId: string },
  status: 'Succeeded' | 'Failed',
  reason?: RegExp,
) {
  expect(result.records).toHaveLength(1);
  expect(result.records[0]).toMatchObject({ result: { status, delivery: 'reported' } });
  expect(codedeploy.reportsOf(result.executionId)).toEqual([status]);
  const [verdict] = verdicts(result);
  expect(verdict?.status).toBe(status);
  if (reason) expect(verdict?.reason).toMatch(reason);
}

/** The check results the hook logged, by check name. */
function checkResults(result: InvokeResult): Record<string, { outcome: string; message: string }> {
  return Object.fromEntries(
    result.logs
      .filter((line) => line.message === 'check result')
      .map((line) => {
        const check = line.check as { name: string; outcome: string; message: string };
        return [check.name, { outcome: check.outcome, message: check.message }];
      }),
  );
}

function outcomes(result: InvokeResult): Record<string, string> {
  return Object.fromEntries(Object.entries(checkResults(result)).map(([name, r]) => [name, r.outcome]));
}

describe('packaged CodeDeploy hooks, unzipped and run as Lambda runs them', () => {
  it('packages five CodeDeploy hooks and the ECS hook, each a .js ES module with its own package.json', () => {
    expect([...stack.functions.keys()].sort()).toEqual([
      'afterAllowTestTraffic',
      'afterAllowTraffic',
      'afterInstall',
      'beforeAllowTraffic',
      'beforeInstall',
      'ecsLifecycleHook',
    ]);
    for (const fn of stack.functions.values()) {
      expect(fn.runtime).toBe('nodejs22.x');
      const listing = execFileSync('unzip', ['-Z1', fn.zip], { encoding: 'utf8' }).split('\n');
      expect(listing).toContain(`${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.js`);
      expect(listing).toContain('handlers/package.json');
      // No migration-rehearsal check in this config: no PostgreSQL in WebAssembly in any zip.
      expect([fn.key, listing.filter((file) => /pglite/i.test(file))]).toEqual([fn.key, []]);
    }
  });

  it('runs on the Node line of the runtime', async () => {
    const result = await hook('afterAllowTraffic');
    expect(result.node.major).toBe(22);
    expectReported(result, 'Succeeded');
  });

  describe('schema on PostgreSQL (BeforeInstall), password from Secrets Manager', () => {
    it('passes while green reads columns that exist', async () => {
      const result = await hook('beforeInstall');
      expectReported(result, 'Succeeded');
      expect(outcomes(result)).toEqual({ pg: 'passed' });
    });

    it('fails naming the column once it is dropped', async () => {
      await pg.query(`ALTER TABLE ${pgSchema}.users DROP COLUMN email`);
      try {
        const result = await hook('beforeInstall');
        expectReported(result, 'Failed', /email/);
        expect(outcomes(result)).toEqual({ pg: 'failed' });
      } finally {
        await pg.query(`ALTER TABLE ${pgSchema}.users ADD COLUMN email text`);
      }
    });
  });

  describe('schema on MariaDB (AfterInstall)', () => {
    it('passes while green reads columns that exist', async () => {
      const result = await hook('afterInstall');
      expectReported(result, 'Succeeded');
      expect(outcomes(result)).toEqual({ mysql: 'passed' });
    });

    it('fails naming the column once it is dropped', async () => {
      await mysql.query(`ALTER TABLE ${mysqlDatabase}.users DROP COLUMN email`);
      try {
        const result = await hook('afterInstall');
        expectReported(result, 'Failed', /email/);
        expect(outcomes(result)).toEqual({ mysql: 'failed' });
      } finally {
        await mysql.query(`ALTER TABLE ${mysqlDatabase}.users ADD COLUMN email text`);
      }
    });

    it('fails naming an ENUM value of a cp1251 table, in Cyrillic, once it is gone', async () => {
      await mysql.query(
        `ALTER TABLE ${mysqlDatabase}.orders MODIFY status ENUM('новый','отменён') CHARACTER SET cp1251`,
      );
      try {
        const result = await hook('afterInstall');
        expectReported(result, 'Failed', /orders\.status/);
        expect(outcomes(result)).toEqual({ mysql: 'failed' });
        const [check] = result.logs.filter((line) => line.message === 'check result');
        expect(JSON.stringify(check)).toContain('отменён');
      } finally {
        await mysql.query(
          `ALTER TABLE ${mysqlDatabase}.orders MODIFY status ENUM('новый','оплачен') CHARACTER SET cp1251`,
        );
      }
    });
  });

  describe('http smoke test with an SSM token, and sessions in Redis and memcached (AfterAllowTestTraffic)', () => {
    it('passes when green is healthy and both versions agree on their sessions', async () => {
      const result = await hook('afterAllowTestTraffic');
      expectReported(result, 'Succeeded');
      expect(outcomes(result)).toEqual({
        smoke: 'passed',
        'redis-sessions': 'passed',
        'memcached-sessions': 'passed',
      });
    });

    it('fails when green answers 503 and renames the session cookie', async () => {
      app.greenHealth = 503;
      app.greenCookie = 'green.sid';
      try {
        const result = await hook('afterAllowTestTraffic');
        expectReported(result, 'Failed');
        const checks = checkResults(result);
        expect(outcomes(result)).toEqual({
          smoke: 'failed',
          'redis-sessions': 'failed',
          'memcached-sessions': 'failed',
        });
        expect(checks.smoke?.message).toMatch(/503/);
        expect(checks['redis-sessions']?.message).toMatch(/cookie renamed from "sid" to "green.sid"/);
        // The failed http check brings the diagnosis of green's tasks (read from moto) into the reason.
        expect(verdicts(result)[0]?.reason).toMatch(
          /; green's tasks: no stopped task with a known cause \(0 stopped\); targets: no targets registered$/,
        );
      } finally {
        app.greenHealth = 200;
        app.greenCookie = 'sid';
      }
    });

    it('never writes the SSM token or the database password into its log', async () => {
      const result = await hook('afterAllowTestTraffic');
      expect(result.stdout).not.toContain(SMOKE_TOKEN);
      expect(result.stdout).not.toContain(DB_PASSWORD);
    });
  });

  describe('alarms and metrics from CloudWatch (BeforeAllowTraffic)', () => {
    it('passes while the alarm is OK and errors stay under the threshold', async () => {
      await datapoints(moto.url, metric, [1, 2]);
      const result = await hook('beforeAllowTraffic');
      expectReported(result, 'Succeeded');
      expect(outcomes(result)).toEqual({ alarms: 'passed', errors: 'passed' });
    });

    it('fails when the alarm is in ALARM and errors pass the threshold', async () => {
      await alarm(moto.url, alarmName, 'ALARM');
      await datapoints(moto.url, metric, [40]);
      const result = await hook('beforeAllowTraffic');
      expectReported(result, 'Failed');
      expect(outcomes(result)).toEqual({ alarms: 'failed', errors: 'failed' });
      const checks = checkResults(result);
      expect(checks.alarms?.message).toMatch(new RegExp(`${alarmName} is in ALARM`));
      expect(checks.errors?.message).toMatch(/was 4\d, expected at most 5/);
    });
  });

  it('reports once when Lambda delivers the same execution twice to a warm function', async () => {
    const fn = stack.functions.get('afterAllowTraffic')!;
    const event = { DeploymentId: world.deploymentId, LifecycleEventHookExecutionId: `exec-${run}-twice` };
    const result = await invoke(fn, [event, event], {
      timeoutS: 60,
      env: { AWS_ENDPOINT_URL: moto.url, AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.server.url },
    });

    expect(result.records).toEqual([
      { result: expect.objectContaining({ status: 'Succeeded', delivery: 'reported' }) },
      { result: expect.objectContaining({ status: 'Succeeded', delivery: 'already-completed' }) },
    ]);
    expect(codedeploy.reportsOf(event.LifecycleEventHookExecutionId)).toEqual(['Succeeded']);
  });

  describe('the ECS built-in hook, with the SDK it bundles', () => {
    const decide = (stage: string, executionId: string) =>
      invoke(
        stack.functions.get('ecsLifecycleHook')!,
        [ecsHookEvent({ stage, executionId, deploymentId: run, greenPercent: 10 })],
        { timeoutS: 60, env: { AWS_ENDPOINT_URL: moto.url, AWS_ENDPOINT_URL_ECS: ecs.url } },
      );

    it('answers SUCCEEDED when green passes its smoke test', async () => {
      const result = await decide('POST_TEST_TRAFFIC_SHIFT', `ecs-${run}-smoke`);
      expect(result.records).toEqual([{ result: { hookStatus: 'SUCCEEDED' } }]);
    });

    it('answers FAILED when green answers 503, the reason naming the crash of a task of green’s revision', async () => {
      const taskDefinition = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:9';
      ecs.on('DescribeServiceRevisions', () => ({
        body: {
          serviceRevisions: [
            {
              serviceRevisionArn: GREEN_REVISION,
              serviceArn: 'arn:aws:ecs:eu-west-1:123456789012:service/web-cluster/web',
              clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/web-cluster',
              taskDefinition,
              resolvedConfiguration: { loadBalancers: [{ targetGroupArn: world.greenTargetGroupArn }] },
            },
          ],
          failures: [],
        },
      }));
      const stopped = fixture('ecs-describe-tasks-stopped');
      stopped.tasks[0].taskDefinitionArn = taskDefinition;
      ecs.on('ListTasks', () => ({ body: { taskArns: [stopped.tasks[0].taskArn] } }));
      ecs.on('DescribeTasks', () => ({ body: stopped }));
      app.greenHealth = 503;
      try {
        const result = await decide('POST_TEST_TRAFFIC_SHIFT', `ecs-${run}-green-crash`);

        expect(result.records).toEqual([{ result: { hookStatus: 'FAILED' } }]);
        // Green's target health comes from moto's ELBv2 (no targets there); its tasks from the stand-in.
        expect(result.logs.find((l) => l.message === 'hook status')?.reason).toMatch(
          /^'smoke' failed: .*503.*; green's tasks: essential container exited: task 4f1c3b9e2a7d4c0f8e6b5a4d3c2b1a09: essential container web exited with code 1/,
        );
        expect(ecs.callsOf('ListTasks').at(-1)!.body).toMatchObject({
          serviceName: 'web',
          desiredStatus: 'STOPPED',
        });
      } finally {
        app.greenHealth = 200;
      }
    });

    it('answers FAILED at a traffic step while the alarm is in ALARM, and SUCCEEDED once ECS rolls back', async () => {
      await alarm(moto.url, alarmName, 'ALARM');
      try {
        const failed = await decide('PRODUCTION_TRAFFIC_SHIFT', `ecs-${run}-step`);
        expect(failed.records).toEqual([{ result: { hookStatus: 'FAILED' } }]);

        serviceDeployment.status = 'ROLLBACK_IN_PROGRESS';
        const rollback = await decide('PRODUCTION_TRAFFIC_SHIFT', `ecs-${run}-rollback`);
        expect(rollback.records).toEqual([{ result: { hookStatus: 'SUCCEEDED' } }]);
        expect(rollback.logs.find((l) => l.message === 'hook status')?.reason).toMatch(
          /rollback in progress \(service deployment .* is ROLLBACK_IN_PROGRESS\)/,
        );
      } finally {
        serviceDeployment.status = 'IN_PROGRESS';
        await alarm(moto.url, alarmName, 'OK');
      }
    });
  });
});
