// The fault matrix, part 2: each check type against its dependency down, slow, resetting, with
// wrong credentials, a TLS mismatch, throttling and hostile answers. Every scenario runs the
// real hook handler with the built-in check types, a config file, the real databases, Redis,
// memcached processes, loopback HTTP(S) servers, and the real CloudWatch and CodeDeploy clients
// against local endpoints. The scenarios run concurrently in `beforeAll`; each test then
// assesses one of them.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { clearRegisteredSecrets } from '../../lib/redact';
import { captureOutput } from '../support/capture-output';
import {
  createTestPki,
  startHttpServer,
  startHttpsServer,
  type TestPki,
  type TestServer,
} from '../support/http-servers';
import { MemcachedProcess } from '../session/support/memcached-process';
import {
  pgPasswordRejecter,
  refusedPort,
  resettingEndpoint,
  silentEndpoint,
  tlsEndpoint,
  type FaultEndpoint,
} from './support/fault-servers';
import {
  FaultyAwsServer,
  LocalCodeDeploy,
  faultSequence,
  type AwsFault,
  type FaultyCall,
} from './support/faulty-aws-server';
import {
  SECRETS,
  describeFaultMatrix,
  hookConfig,
  inPool,
  installSecrets,
  runScenario,
  settledHeapBytes,
  type HookScenario,
  type ScenarioRun,
} from './support/hook-matrix';

interface Fixtures {
  area: string;
  app: TestServer;
  selfSignedApp: TestServer;
  pki: TestPki;
  greenApp: TestServer;
  refused: number;
  silent: FaultEndpoint;
  resetting: FaultEndpoint;
  selfSignedTls: FaultEndpoint;
  pgRejecter: Awaited<ReturnType<typeof pgPasswordRejecter>>;
  memcached: MemcachedProcess;
  redisUser: string;
}

const THROTTLED: AwsFault = { error: 'Throttling', message: 'Rate exceeded' };
const NOT_JSON = /(not valid JSON|Unexpected token|JSON)/;

/**
 * Persistent throttling names Throttling whether the retries ran out before the check's
 * deadline or the deadline cut them short.
 */
const throttled = (operation: string) =>
  new RegExp(
    `^'check' error: (.*: )?${operation} (failed after 5 attempts: Throttling: Rate exceeded|got no answer before the check deadline \\(\\d+ ms\\); [1-4] attempts? failed, the last with Throttling: Rate exceeded)$`,
  );

/** One gating check `check` of this type, with these option lines (indented four spaces). */
const single = (f: Fixtures, type: string, options: string, targets?: string, timeoutMs = 2500) =>
  hookConfig({
    targets: targets ?? `{ test: "${f.app.url}", prod: "${f.app.url}" }`,
    checks: `  check:\n    type: ${type}\n${options.replace(/^/gm, '    ')}\n    timeoutMs: ${timeoutMs}\n`,
    hooked: ['check'],
  });

const http = (f: Fixtures, base: string, options = 'requests: [{ path: /health }]', extra = '') =>
  single(
    f,
    'http',
    `headers: { authorization: "Bearer \${env:FAULTS_API_TOKEN}" }\nrequestTimeoutMs: 800\nretry: { attempts: 2, backoffMs: 50 }\n${options}\n${extra}`,
    `{ test: "${base}" }`,
  );

const schema = (f: Fixtures, url: string, extra = 'tls: { mode: disable }') =>
  single(
    f,
    'schema',
    `url: ${url}\npassword: \${env:FAULTS_DB_PASSWORD}\n${extra}\nconnectTimeoutMs: 800\ncontracts: { green: { inline: { reads: {} } } }`,
  );

const store = (f: Fixtures, engine: 'redis' | 'memcached', port: number, extra = '') =>
  single(
    f,
    'session',
    `store: { engine: ${engine}, host: 127.0.0.1, port: ${port}, connectTimeoutMs: 800, commandTimeoutMs: 500${
      engine === 'redis' ? ', password: "${env:FAULTS_STORE_PASSWORD}"' : ''
    }${extra} }\ncanary: { keyPrefix: "${f.area}:canary:", ttlSeconds: 30 }\neviction: false`,
  );

/** A session store down, never answering, and dropping connections: Failed naming host:port and the fault. */
function storeUnreachable(
  engine: 'redis' | 'memcached',
  label: string,
  timeout: 'connect' | 'command',
): Array<HookScenario<Fixtures>> {
  const failed = (fault: string) => ({
    reports: 1 as const,
    status: 'Failed' as const,
    delivery: ['reported' as const],
    reason: new RegExp(`^'check' error: .*${engine} .*127\\.0\\.0\\.1:\\d+.*${fault}`, 'i'),
  });
  return [
    {
      name: `session: reports Failed naming host:port when ${label} is down`,
      budgetMs: 4_000,
      config: (f) => store(f, engine, f.refused),
      expect: failed('ECONNREFUSED'),
    },
    {
      name: `session: reports Failed within the ${timeout} timeout when ${label} never answers`,
      budgetMs: 4_000,
      config: (f) => store(f, engine, f.silent.port),
      expect: failed('(timed out|timeout)'),
    },
    {
      name: `session: reports Failed naming the reset when ${label} drops connections`,
      budgetMs: 4_000,
      config: (f) => store(f, engine, f.resetting.port),
      expect: failed('(ECONNRESET|closed)'),
    },
  ];
}

/** CloudWatch faults are scripted by a key each scenario puts in its request (an alarm name, a dimension). */
const cloudWatchScripts = new Map<string, () => AwsFault | undefined>();
const alarms = (key: string) => `names: [${key}]`;
const metrics = (key: string) =>
  `queries: [{ id: errors, metric: { namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, dimensions: { LoadBalancer: app/${key}/1 } }, stat: Sum }]\ncondition: { atMost: 1 }`;
const targetGroups = (key: string) =>
  `loadBalancer: app/${key}/1\ngreen: targetgroup/${key}-2/2\nblue: targetgroup/${key}-1/1`;
const cloudWatchKey = (deploymentId: string) => `faults-${deploymentId.toLowerCase()}`;
/** The CloudWatch calls a scenario made. */
const cloudWatchCalls = (run: ScenarioRun): FaultyCall[] =>
  cloudWatch.calls.filter((c) => JSON.stringify(c.body).includes(cloudWatchKey(run.ids.DeploymentId)));

/** A scenario whose CloudWatch calls carry its own key, so its faults reach only its own calls. */
function cloudWatchScenario(
  name: string,
  type: string,
  options: (key: string) => string,
  faults: AwsFault[],
  repeat: boolean,
  expectation: HookScenario<Fixtures>['expect'],
): HookScenario<Fixtures> {
  // A fault that should pass once the retries get through gets the time a loaded machine needs.
  const recovers = expectation.status === 'Succeeded';
  return {
    name,
    budgetMs: recovers ? 8_000 : 4_000,
    prepare: (_f, ids) =>
      void cloudWatchScripts.set(cloudWatchKey(ids.DeploymentId), faultSequence(faults, repeat)),
    config: (f, ids) =>
      single(f, type, options(cloudWatchKey(ids.DeploymentId)), undefined, recovers ? 6_500 : 2_500),
    expect: expectation,
  };
}

const scenarios: Array<HookScenario<Fixtures>> = [
  // A healthy world first: no fault, no false alarm.
  {
    name: 'reports Succeeded when every dependency answers as it should',
    budgetMs: 5_000,
    config: (f) =>
      hookConfig({
        targets: `{ test: "${f.app.url}", prod: "${f.app.url}" }`,
        checks: [
          `  smoke:\n    type: http\n    headers: { authorization: "Bearer \${env:FAULTS_API_TOKEN}" }\n    requests: [{ path: /health, expect: { status: 200 } }]`,
          `  db:\n    type: schema\n    url: postgres://postgres@127.0.0.1:5432/test?sslmode=disable\n    password: \${env:FAULTS_DB_PASSWORD}\n    contracts: { green: { inline: { reads: {} } } }`,
          `  mariadb:\n    type: schema\n    url: mysql://root@127.0.0.1:3306/test?sslmode=disable\n    contracts: { green: { inline: { reads: {} } } }`,
          `  redis:\n    type: session\n    store: { engine: redis, host: 127.0.0.1, port: 6379 }\n    canary: { keyPrefix: "${f.area}:canary:" }\n    eviction: false`,
          `  memcached:\n    type: session\n    store: { engine: memcached, host: 127.0.0.1, port: ${f.memcached.port} }\n    canary: { keyPrefix: "${f.area}:canary:" }\n    eviction: false`,
        ].join('\n'),
        hooked: ['smoke', 'db', 'mariadb', 'redis', 'memcached'],
      }),
    expect: {
      reports: 1,
      status: 'Succeeded',
      delivery: ['reported'],
      reason: /^all 5 gating checks passed$/,
    },
  },

  // http
  {
    name: 'http: reports Failed naming the address when nothing listens on the test listener',
    budgetMs: 4_000,
    config: (f) => http(f, `http://127.0.0.1:${f.refused}`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: GET http:\/\/127\.0\.0\.1:\d+\/health .*ECONNREFUSED/,
    },
  },
  {
    name: 'http: reports Failed with the timeout when the listener accepts and never answers',
    budgetMs: 4_000,
    config: (f) => http(f, `http://127.0.0.1:${f.silent.port}`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: GET http:\/\/127\.0\.0\.1:\d+\/health timed out( after \d+ ms)? \(waiting for response headers\)/,
    },
  },
  {
    name: 'http: reports Failed naming the reset when the listener drops connections',
    budgetMs: 4_000,
    config: (f) => http(f, `http://127.0.0.1:${f.resetting.port}`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: GET http:\/\/127\.0\.0\.1:\d+\/health .*(ECONNRESET|other side closed|socket)/i,
    },
  },
  {
    name: 'http: reports Failed with the status when green answers 503',
    budgetMs: 4_000,
    config: (f) => http(f, f.app.url, 'requests: [{ path: /unavailable, expect: { status: 200 } }]'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' failed: GET http:\/\/127\.0\.0\.1:\d+\/unavailable returned 503, expected 200/,
    },
  },
  {
    name: 'http: reports Failed with 401 when the login flow is refused, and never shows the password the app echoes',
    budgetMs: 4_000,
    config: (f) =>
      http(
        f,
        f.app.url,
        [
          'requests:',
          '  - { name: login, method: POST, path: /login, json: { user: smoke, password: "${env:FAULTS_LOGIN_PASSWORD}" }, captures: { token: { json: token } }, expect: { status: 200 } }',
          '  - { name: me, path: /me, headers: { authorization: "Bearer ${token}" } }',
        ].join('\n'),
      ),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' failed: POST http:\/\/127\.0\.0\.1:\d+\/login returned 401, expected 200/,
      more: (_run, f) =>
        expect(
          f.app.requests.some((r) => r.url === '/login' && r.body.includes(SECRETS.FAULTS_LOGIN_PASSWORD)),
        ).toBe(true),
    },
  },
  {
    name: 'http: reports Failed naming the self-signed certificate of the test listener',
    budgetMs: 4_000,
    config: (f) => http(f, f.selfSignedApp.url),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' failed: GET https:\/\/127\.0\.0\.1:\d+\/health failed: TLS: self-signed certificate/,
    },
  },
  {
    name: 'http: reports Failed naming the host name when the certificate is for another host',
    budgetMs: 4_000,
    config: (f) =>
      http(
        f,
        f.greenApp.url,
        'requests: [{ path: /health }]',
        `tls: { caFile: ${f.pki.caFile}, serverName: blue.internal }`,
      ),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' failed: GET https:\/\/127\.0\.0\.1:\d+\/health failed: TLS: Hostname\/IP does not match certificate's altnames: Host: blue\.internal/,
    },
  },
  {
    name: 'http: reports Failed with the timeout when the body never ends',
    budgetMs: 4_000,
    config: (f) => http(f, f.app.url, 'requests: [{ path: /endless, expect: { body: { contains: done } } }]'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: GET http:\/\/127\.0\.0\.1:\d+\/endless timed out after 800 ms \(reading the body/,
    },
  },
  {
    name: 'http: reports Failed saying the body is not JSON when green answers garbage to a JSON assertion',
    budgetMs: 4_000,
    config: (f) =>
      http(f, f.app.url, 'requests: [{ path: /garbage, expect: { json: [{ path: status, "==": ok }] } }]'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' failed: GET http:\/\/127\.0\.0\.1:\d+\/garbage .*(not JSON|not valid JSON|invalid JSON)/i,
    },
  },
  {
    name: 'http: reports Failed saying the body was cut when green answers a huge body',
    budgetMs: 4_000,
    config: (f) =>
      http(
        f,
        f.app.url,
        'maxBodyBytes: 65536\nrequests: [{ path: /huge, expect: { json: [{ path: status, "==": ok }] } }]',
      ),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' (failed|error): GET http:\/\/127\.0\.0\.1:\d+\/huge .*(truncated|65536|too large)/i,
    },
  },

  // schema: PostgreSQL
  {
    name: 'schema: reports Failed naming host:port when PostgreSQL is down',
    budgetMs: 4_000,
    config: (f) => schema(f, `postgres://app@127.0.0.1:${f.refused}/app`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+ as app: .*ECONNREFUSED/,
    },
  },
  {
    name: 'schema: reports Failed within the connect timeout when PostgreSQL never answers',
    budgetMs: 4_000,
    config: (f) => schema(f, `postgres://app@127.0.0.1:${f.silent.port}/app`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        // Ours or the driver's own timer, whichever fires first on a loaded machine.
        /^'check' error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+ as app: (timed out after 800 ms|timeout expired)/,
    },
  },
  {
    name: 'schema: reports Failed naming the reset when PostgreSQL drops the connection',
    budgetMs: 4_000,
    config: (f) => schema(f, `postgres://app@127.0.0.1:${f.resetting.port}/app`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+ as app: .*(ECONNRESET|terminated|closed)/i,
    },
  },
  {
    name: 'schema: reports Failed with the authentication error when PostgreSQL rejects the password',
    budgetMs: 4_000,
    config: (f) => schema(f, `postgres://app@127.0.0.1:${f.pgRejecter.port}/app`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+ as app: .*password authentication failed for user "app"/,
      more: (_run, f) => expect(f.pgRejecter.passwords).toContain(SECRETS.FAULTS_DB_PASSWORD),
    },
  },
  {
    name: 'schema: reports Failed when TLS is required and PostgreSQL offers none',
    budgetMs: 4_000,
    config: (f) => schema(f, 'postgres://postgres@127.0.0.1:5432/test', 'tls: { mode: verify-full }'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: cannot connect to PostgreSQL at 127\.0\.0\.1:5432 as postgres: The server does not support SSL connections/,
    },
  },

  // schema: MariaDB
  {
    name: 'schema: reports Failed naming host:port when MariaDB is down',
    budgetMs: 4_000,
    config: (f) => schema(f, `mysql://app@127.0.0.1:${f.refused}/app`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: cannot connect to MySQL at 127\.0\.0\.1:\d+ as app: .*ECONNREFUSED/,
    },
  },
  {
    name: 'schema: reports Failed within the connect timeout when MariaDB never answers',
    budgetMs: 4_000,
    config: (f) => schema(f, `mysql://app@127.0.0.1:${f.silent.port}/app`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      // Ours or the driver's own timer, whichever fires first on a loaded machine.
      reason:
        /^'check' error: cannot connect to MySQL at 127\.0\.0\.1:\d+ as app: (timed out after 800 ms|connect ETIMEDOUT)/,
    },
  },
  {
    name: 'schema: reports Failed naming the reset when MariaDB drops the connection',
    budgetMs: 4_000,
    config: (f) => schema(f, `mysql://app@127.0.0.1:${f.resetting.port}/app`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: cannot connect to MySQL at 127\.0\.0\.1:\d+ as app: .*(ECONNRESET|closed|PROTOCOL_CONNECTION_LOST)/i,
    },
  },
  {
    name: 'schema: reports Failed with access denied when MariaDB rejects the password',
    budgetMs: 4_000,
    config: (f) => schema(f, 'mysql://root@127.0.0.1:3306/test'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: cannot connect to MySQL at 127\.0\.0\.1:3306 as root: ER_ACCESS_DENIED_ERROR: Access denied for user 'root'/,
    },
  },
  {
    name: 'schema: reports Failed when TLS is required and MariaDB offers none',
    budgetMs: 4_000,
    config: (f) => schema(f, 'mysql://root@127.0.0.1:3306/test', 'tls: { mode: verify-full }'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: cannot connect to MySQL at 127\.0\.0\.1:3306 as root: .*(SSL|TLS)/i,
    },
  },

  // session: Redis
  ...storeUnreachable('redis', 'Redis', 'connect'),
  {
    name: 'session: reports Failed with WRONGPASS when Redis rejects the ACL user password',
    budgetMs: 4_000,
    config: (f) => store(f, 'redis', 6379, `, username: ${f.redisUser}`),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: .*redis .*127\.0\.0\.1:6379.*WRONGPASS/i,
    },
  },
  {
    name: 'session: reports Failed naming the self-signed certificate of a Redis endpoint',
    budgetMs: 4_000,
    config: (f) => store(f, 'redis', f.selfSignedTls.port, ', tls: true'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: .*redis .*127\.0\.0\.1:\d+.*self[- ]signed certificate/i,
    },
  },

  // session: memcached
  ...storeUnreachable('memcached', 'memcached', 'command'),
  {
    name: 'session: reports Failed when TLS is required and memcached speaks plain text',
    budgetMs: 4_000,
    config: (f) => store(f, 'memcached', f.memcached.port, ', tls: true'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: .*memcached .*127\.0\.0\.1:\d+.*(TLS|SSL|timed out|closed|ECONNRESET)/i,
    },
  },

  // CloudWatch: alarms, metrics, target-groups
  cloudWatchScenario(
    'alarms: reports Succeeded when CloudWatch throttles twice and then answers',
    'alarms',
    alarms,
    [THROTTLED, THROTTLED],
    false,
    {
      reports: 1,
      status: 'Succeeded',
      delivery: ['reported'],
      reason: /^all 1 gating check passed$/,
      more: (run) => expect(cloudWatchCalls(run)).toHaveLength(3),
    },
  ),
  cloudWatchScenario(
    'alarms: reports Failed naming the throttling when CloudWatch throttles every attempt',
    'alarms',
    alarms,
    [THROTTLED],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: throttled('DescribeAlarms'),
    },
  ),
  cloudWatchScenario(
    'alarms: reports Failed naming DescribeAlarms when CloudWatch never answers',
    'alarms',
    alarms,
    [{ hang: true }],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: DescribeAlarms got no answer before the check deadline \(\d+ ms\)$/,
    },
  ),
  cloudWatchScenario(
    'alarms: reports Failed naming the reset when CloudWatch drops connections',
    'alarms',
    alarms,
    [{ reset: true }],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: DescribeAlarms (failed after 5 attempts:|got no answer before the check deadline \(\d+ ms\); [1-4] attempts? failed, the last with) .*ECONNRESET/,
    },
  ),
  cloudWatchScenario(
    'alarms: reports Failed naming the missing permission when CloudWatch denies DescribeAlarms',
    'alarms',
    alarms,
    [{ error: 'AccessDenied', message: 'User is not authorized to perform: cloudwatch:DescribeAlarms' }],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'check' error: DescribeAlarms was denied \(AccessDenied\): the role needs cloudwatch:DescribeAlarms/,
    },
  ),
  cloudWatchScenario(
    'alarms: reports Failed saying the answer is not JSON when CloudWatch answers garbage',
    'alarms',
    alarms,
    [{ raw: '{"MetricAlarms": [' }],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: new RegExp(`^'check' error: DescribeAlarms failed: .*${NOT_JSON.source}`),
    },
  ),
  cloudWatchScenario(
    'metrics: reports Succeeded when CloudWatch throttles once and then answers',
    'metrics',
    metrics,
    [THROTTLED],
    false,
    {
      reports: 1,
      status: 'Succeeded',
      delivery: ['reported'],
      reason: /^all 1 gating check passed$/,
      more: (run) => expect(cloudWatchCalls(run)).toHaveLength(2),
    },
  ),
  cloudWatchScenario(
    'metrics: reports Failed naming the throttling when CloudWatch throttles every attempt',
    'metrics',
    metrics,
    [THROTTLED],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: throttled('GetMetricData'),
    },
  ),
  cloudWatchScenario(
    'metrics: reports Failed naming the 5xx when CloudWatch keeps failing',
    'metrics',
    metrics,
    [{ status: 500, error: 'InternalServiceError', message: 'internal error' }],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: .*GetMetricData failed after 5 attempts: InternalServiceFault: internal error/,
    },
  ),
  cloudWatchScenario(
    'target-groups: reports Failed naming the throttling when CloudWatch throttles every attempt',
    'target-groups',
    targetGroups,
    [THROTTLED],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: throttled('GetMetricData'),
    },
  ),
  cloudWatchScenario(
    'target-groups: reports Failed naming GetMetricData when CloudWatch never answers',
    'target-groups',
    targetGroups,
    [{ hang: true }],
    true,
    {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'check' error: .*GetMetricData got no answer before the check deadline \(\d+ ms\)$/,
    },
  ),
];

const codeDeploy = new LocalCodeDeploy();
const cloudWatch = new FaultyAwsServer({
  targetPrefix: 'GraniteServiceVersion20100801',
  contentType: 'application/x-amz-json-1.0',
});
const dir = mkdtempSync(join(tmpdir(), 'greenlight-faults-'));
const runs = new Map<string, ScenarioRun>();
const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
let fixtures: Fixtures;
let output: ReturnType<typeof captureOutput>;
let heapGrowthBytes = 0;

/** A healthy CloudWatch: every named alarm OK, every metric at 0 now. */
function answerNormally(call: FaultyCall): AwsFault {
  if (call.operation === 'DescribeAlarms') {
    const names = (call.body.AlarmNames as string[] | undefined) ?? [];
    return {
      body: {
        MetricAlarms: names.map((name) => ({
          AlarmName: name,
          AlarmArn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}`,
          StateValue: 'OK',
          StateReason: 'Threshold not crossed',
          StateTransitionedTimestamp: Date.now() / 1000 - 3600,
        })),
        CompositeAlarms: [],
      },
    };
  }
  const queries = call.body.MetricDataQueries as Array<{ Id: string; ReturnData?: boolean }>;
  return {
    body: {
      MetricDataResults: queries
        .filter((q) => q.ReturnData !== false)
        .map((q) => ({
          Id: q.Id,
          Label: q.Id,
          Timestamps: [Math.floor(Date.now() / 1000)],
          Values: [0],
          StatusCode: 'Complete',
        })),
      Messages: [],
    },
  };
}

function routeCloudWatch(call: FaultyCall): AwsFault {
  const text = JSON.stringify(call.body);
  for (const [key, next] of cloudWatchScripts) if (text.includes(key)) return next() ?? answerNormally(call);
  return answerNormally(call);
}

/** The test app: healthy, failing, refusing logins (echoing the credentials), and hostile bodies. */
async function startApp(): Promise<TestServer> {
  return startHttpServer((req, res) => {
    switch (req.url) {
      case '/health':
        return res.end('ok');
      case '/unavailable':
        res.writeHead(503);
        return res.end('down for maintenance');
      case '/login':
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
        return res.end(JSON.stringify({ error: 'invalid credentials', youSent: req.body }));
      case '/endless': {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write('still going\n'), 50);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/garbage':
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{"status": "ok", oops');
      case '/huge': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let sent = 0;
        const pump = () => {
          while (sent < 64 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', pump);
          }
          res.end();
        };
        res.write('{"status": "');
        return pump();
      }
      default:
        res.writeHead(404);
        return res.end();
    }
  });
}

beforeAll(async () => {
  installSecrets();
  output = captureOutput();
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codeDeploy.server.start();
  cloudWatch.on('DescribeAlarms', routeCloudWatch).on('GetMetricData', routeCloudWatch);
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = await cloudWatch.start();

  const area = `faults-${randomBytes(4).toString('hex')}`;
  const pki = createTestPki();
  const memcached = new MemcachedProcess();
  await memcached.start();
  await redis.connect();
  // A Redis ACL user whose password is not the one in the config.
  await redis.call(
    'ACL',
    'SETUSER',
    area,
    'on',
    `>${randomBytes(12).toString('hex')}`,
    `~${area}:*`,
    '+@all',
  );
  fixtures = {
    area,
    app: await startApp(),
    selfSignedApp: await startHttpsServer((_req, res) => res.end('ok'), { fallback: pki.selfSigned }),
    pki,
    greenApp: await startHttpsServer((_req, res) => res.end('ok'), { fallback: pki.issue('green.internal') }),
    refused: await refusedPort(),
    silent: await silentEndpoint(),
    resetting: await resettingEndpoint(),
    selfSignedTls: await tlsEndpoint(pki.selfSigned),
    pgRejecter: await pgPasswordRejecter(),
    memcached,
    redisUser: area,
  };

  const env = { dir, codeDeploy };
  // Warm up module loading (drivers, SDK clients, check types) so the heap figure measures the matrix.
  await runScenario(scenarios[0]!, fixtures, env);
  const before = settledHeapBytes();
  const results = await inPool(scenarios, 8, (s) => runScenario(s, fixtures, env));
  scenarios.forEach((s, i) => runs.set(s.name, results[i]!));
  heapGrowthBytes = settledHeapBytes() - before;
}, 90_000);

afterAll(async () => {
  output?.restore();
  const keys = await redis.keys(`${fixtures.area}:*`);
  if (keys.length) await redis.unlink(...keys);
  await redis.call('ACL', 'DELUSER', fixtures.area);
  await redis.quit();
  await Promise.all([
    codeDeploy.server.stop(),
    cloudWatch.stop(),
    fixtures.app.close(),
    fixtures.selfSignedApp.close(),
    fixtures.greenApp.close(),
    fixtures.silent.close(),
    fixtures.resetting.close(),
    fixtures.selfSignedTls.close(),
    fixtures.pgRejecter.close(),
    fixtures.memcached.stop(),
  ]);
  fixtures.pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
  clearRegisteredSecrets();
});

describeFaultMatrix(
  'each check type against its dependency failing',
  scenarios,
  () => ({ runs, output, fixtures, heapGrowthBytes }),
  64 * 1024 * 1024,
);
