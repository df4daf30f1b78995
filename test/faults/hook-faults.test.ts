// The fault matrix, part 1: what goes wrong around the hook itself — CodeDeploy's API, the
// Lambda deadline, duplicate and malformed invocations, broken configs, and CloudWatch down.
// Every scenario runs the real hook handler with the built-in check types, a config file, and
// the real AWS SDK clients against local endpoints. The scenarios run concurrently in
// `beforeAll`; each test then assesses one of them.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awsClientConfig } from '../../lib/aws';
import { clearRegisteredSecrets } from '../../lib/redact';
import { captureOutput } from '../support/capture-output';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { refusedPort, silentEndpoint, type FaultEndpoint } from './support/fault-servers';
import { LocalCodeDeploy, type AwsFault } from './support/faulty-aws-server';
import {
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
  app: TestServer;
  silent: FaultEndpoint;
  deadCodeDeployUrl: string;
}

const THROTTLED: AwsFault = { error: 'ThrottlingException', message: 'Rate exceeded' };
const UNAVAILABLE: AwsFault = {
  status: 503,
  error: 'ServiceUnavailableException',
  message: 'Service Unavailable',
};
const INTERNAL: AwsFault = { status: 500, error: 'InternalFailure', message: 'internal failure' };

/** A config with one passing smoke check against the healthy app. */
const healthy = (f: Fixtures, reportReserveMs = 1000) =>
  hookConfig({
    targets: `{ test: "${f.app.url}" }`,
    checks: `  smoke:\n    type: http\n    requests: [{ path: /health, headers: { x-api-key: "\${env:FAULTS_API_TOKEN}" }, expect: { status: 200 } }]\n    timeoutMs: 1500\n`,
    hooked: ['smoke'],
    reportReserveMs,
  });

const cloudWatchDown = (type: string, options: string) =>
  hookConfig({ checks: `  cw:\n    type: ${type}\n${options}    timeoutMs: 2500\n`, hooked: ['cw'] });

const NOT_AN_EVENT = /^cannot report: the event is not a CodeDeploy lifecycle hook event: /;

const scenarios: Array<HookScenario<Fixtures>> = [
  // CodeDeploy's API
  {
    name: 'reports once when CodeDeploy throttles twice and then accepts',
    // The report's backoff waits up to 250 ms, then up to 500 ms: a reserve of 5 s (the default
    // is 10 s) always holds both retries.
    budgetMs: 8_000,
    config: (f) => healthy(f, 5_000),
    prepare: (_f, ids) => codeDeploy.script(ids.LifecycleEventHookExecutionId, [THROTTLED, THROTTLED]),
    expect: {
      reports: 1,
      status: 'Succeeded',
      delivery: ['reported'],
      reason: /^all 1 gating check passed$/,
      more: (run) =>
        expect(run.attempts.map((a) => ('error' in a.answer! ? a.answer.error : 'accepted'))).toEqual([
          'ThrottlingException',
          'ThrottlingException',
          'accepted',
        ]),
    },
  },
  {
    name: 'throws a ReportError naming ThrottlingException when CodeDeploy throttles every attempt',
    budgetMs: 6_000,
    config: (f) => healthy(f, 4_000),
    prepare: (_f, ids) => codeDeploy.script(ids.LifecycleEventHookExecutionId, [THROTTLED], true),
    expect: {
      reports: 0,
      delivery: ['throws ReportError'],
      // Delivery goes on until the reserve is spent; the reason is what CodeDeploy last answered.
      reason:
        /^could not report Succeeded to CodeDeploy within 4000 ms: \d+ attempts? failed, the last with ThrottlingException: Rate exceeded$/,
      log: /^could not report to CodeDeploy: .*ThrottlingException: Rate exceeded$/,
    },
  },
  {
    name: 'throws a ReportError naming ThrottlingException when throttling outlasts a short report reserve',
    budgetMs: 3_000,
    config: (f) => healthy(f, 1_000),
    prepare: (_f, ids) => codeDeploy.script(ids.LifecycleEventHookExecutionId, [THROTTLED], true),
    expect: {
      reports: 0,
      delivery: ['throws ReportError'],
      reason:
        /^could not report Succeeded to CodeDeploy within 1000 ms: \d+ attempts? failed, the last with ThrottlingException: Rate exceeded$/,
      log: /^could not report to CodeDeploy: could not report Succeeded to CodeDeploy within 1000 ms: .*ThrottlingException/,
    },
  },
  {
    name: 'reports once when CodeDeploy answers 503 and then accepts',
    budgetMs: 5_000,
    config: (f) => healthy(f, 2_500),
    prepare: (_f, ids) => codeDeploy.script(ids.LifecycleEventHookExecutionId, [UNAVAILABLE]),
    expect: {
      reports: 1,
      status: 'Succeeded',
      delivery: ['reported'],
      reason: /^all 1 gating check passed$/,
      more: (run) => expect(run.attempts).toHaveLength(2),
    },
  },
  {
    name: 'throws a ReportError naming the 5xx when CodeDeploy answers 500 every time',
    budgetMs: 6_000,
    config: (f) => healthy(f, 4_000),
    prepare: (_f, ids) => codeDeploy.script(ids.LifecycleEventHookExecutionId, [INTERNAL], true),
    expect: {
      reports: 0,
      delivery: ['throws ReportError'],
      reason: /InternalFailure: internal failure/,
      log: /^could not report to CodeDeploy: .*InternalFailure/,
      more: (run) => expect(run.attempts.length).toBeGreaterThan(1),
    },
  },
  {
    name: 'throws a ReportError naming the 502 when a proxy answers CodeDeploy calls with an HTML page',
    budgetMs: 6_000,
    config: (f) => healthy(f, 4_000),
    prepare: (_f, ids) =>
      codeDeploy.script(
        ids.LifecycleEventHookExecutionId,
        [{ status: 502, raw: '<html>Bad Gateway</html>' }],
        true,
      ),
    expect: {
      reports: 0,
      delivery: ['throws ReportError'],
      reason:
        /^could not report Succeeded to CodeDeploy within 4000 ms: \d+ attempts failed, the last with SyntaxError: .* \(HTTP 502 from CodeDeploy\)$/,
      log: /^could not report to CodeDeploy: .*SyntaxError: .* \(HTTP 502 from CodeDeploy\)$/,
      more: (run) => expect(run.attempts.length).toBeGreaterThan(1),
    },
  },
  {
    name: 'throws a ReportError naming the refused address when nothing listens at the CodeDeploy endpoint',
    budgetMs: 5_000,
    config: (f) => healthy(f, 3_000),
    codedeploy: (f) => new CodeDeployClient({ ...awsClientConfig(), endpoint: f.deadCodeDeployUrl }),
    expect: {
      reports: 0,
      delivery: ['throws ReportError'],
      reason: /ECONNREFUSED 127\.0\.0\.1:\d+/,
      log: /^could not report to CodeDeploy: .*ECONNREFUSED/,
    },
  },
  {
    name: 'throws a ReportError before the deadline when CodeDeploy never answers',
    budgetMs: 4_000,
    config: (f) => healthy(f, 1_500),
    prepare: (_f, ids) => codeDeploy.script(ids.LifecycleEventHookExecutionId, [{ hang: true }], true),
    expect: {
      reports: 0,
      delivery: ['throws ReportError'],
      reason: /^no answer from CodeDeploy within 1500 ms$/,
      log: /^could not report to CodeDeploy: no answer from CodeDeploy within 1500 ms/,
    },
  },
  {
    name: 'throws a ReportError naming the reset when CodeDeploy drops every connection',
    budgetMs: 6_000,
    config: (f) => healthy(f, 4_000),
    prepare: (_f, ids) => codeDeploy.script(ids.LifecycleEventHookExecutionId, [{ reset: true }], true),
    expect: {
      reports: 0,
      delivery: ['throws ReportError'],
      reason: /ECONNRESET|socket hang up/,
      log: /^could not report to CodeDeploy: .*(ECONNRESET|socket hang up)/,
    },
  },
  {
    name: 'reports once when CodeDeploy drops the first connection',
    budgetMs: 5_000,
    config: (f) => healthy(f, 2_500),
    prepare: (_f, ids) => codeDeploy.script(ids.LifecycleEventHookExecutionId, [{ reset: true }]),
    expect: {
      reports: 1,
      status: 'Succeeded',
      delivery: ['reported'],
      reason: /^all 1 gating check passed$/,
    },
  },
  {
    name: 'throws a ReportError naming the missing permission when CodeDeploy denies the report',
    budgetMs: 4_000,
    config: (f) => healthy(f),
    prepare: (_f, ids) =>
      codeDeploy.script(
        ids.LifecycleEventHookExecutionId,
        [
          {
            error: 'AccessDeniedException',
            message: 'not authorized to perform codedeploy:PutLifecycleEventHookExecutionStatus',
          },
        ],
        true,
      ),
    expect: {
      reports: 0,
      delivery: ['throws ReportError'],
      reason:
        /AccessDeniedException: not authorized to perform codedeploy:PutLifecycleEventHookExecutionStatus/,
      log: /^could not report to CodeDeploy: AccessDeniedException/,
      more: (run) => expect(run.attempts).toHaveLength(1),
    },
  },
  {
    name: 'returns normally and says so when CodeDeploy has already completed the event',
    budgetMs: 4_000,
    config: (f) => healthy(f),
    prepare: (_f, ids) => codeDeploy.complete(ids.LifecycleEventHookExecutionId),
    expect: {
      reports: 0,
      delivery: ['already-completed'],
      reason: /^all 1 gating check passed$/,
      log: /already reported; nothing more to do/,
    },
  },

  // The Lambda deadline
  {
    name: 'reports Failed before the Lambda deadline when a check outlives it',
    budgetMs: 3_000,
    config: (f) =>
      hookConfig({
        targets: `{ test: "http://${f.silent.host}:${f.silent.port}" }`,
        checks: `  slow:\n    type: http\n    requestTimeoutMs: 60000\n    retry: { attempts: 1 }\n    requests: [{ path: /health, headers: { authorization: "Bearer \${env:FAULTS_API_TOKEN}" } }]\n`,
        hooked: ['slow'],
      }),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      // Whichever stops it first, the check's own deadline-capped timeout or the runner's deadline.
      reason:
        /^'slow' error: (GET http:\/\/127\.0\.0\.1:\d+\/health timed out( after \d+ ms)? \(waiting for response headers\)|did not finish before the hook deadline)/,
      more: (run) => {
        const { startedAt, settledAt } = run.invocations[0]!;
        // The check ran for most of its 2 s budget (3 s less the 1 s reserve) and was not cut
        // short at once; exactly how close it came depends on config loading under load.
        expect(settledAt - startedAt).toBeGreaterThanOrEqual(1_000);
      },
    },
  },
  {
    name: 'reports Failed at once when the Lambda has less time left than the report reserve',
    budgetMs: 2_500,
    config: (f) => healthy(f, 3_000),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^not enough time to run checks: \d+ ms left, 3000 ms reserved for reporting$/,
    },
  },

  // Duplicate invocations
  {
    name: 'reports once when Lambda delivers the same event twice in a row',
    budgetMs: 4_000,
    invoke: 'twice',
    config: (f) => healthy(f),
    expect: {
      reports: 1,
      status: 'Succeeded',
      delivery: ['reported', 'already-completed'],
      reason: /^all 1 gating check passed$/,
      log: /already reported; nothing more to do/,
    },
  },
  {
    name: 'reports once when two invocations with the same ids run at the same time',
    budgetMs: 4_000,
    invoke: 'twice-at-once',
    config: (f) => healthy(f),
    expect: {
      reports: 1,
      status: 'Succeeded',
      delivery: ['already-completed', 'reported'],
      reason: /^all 1 gating check passed$/,
      log: /already reported; nothing more to do/,
    },
  },

  // Malformed events: nothing can be reported, and the log says why
  ...(
    [
      ['an empty object', () => ({}), /DeploymentId is missing; LifecycleEventHookExecutionId is missing/],
      ['null', () => null, /got null/],
      [
        'camelCase ids',
        (ids) => ({
          deploymentId: ids.DeploymentId,
          lifecycleEventHookExecutionId: ids.LifecycleEventHookExecutionId,
        }),
        /found camelCase deploymentId; CodeDeploy sends DeploymentId/,
      ],
      [
        'a missing execution id',
        (ids) => ({ DeploymentId: ids.DeploymentId }),
        /LifecycleEventHookExecutionId is missing/,
      ],
      [
        'a numeric execution id',
        (ids) => ({ DeploymentId: ids.DeploymentId, LifecycleEventHookExecutionId: 42 }),
        /LifecycleEventHookExecutionId must be a non-empty string, got number/,
      ],
      ['a list', (ids) => [ids], /got a list/],
    ] as Array<[string, HookScenario<Fixtures>['payload'], RegExp]>
  ).map(([what, payload, why]): HookScenario<Fixtures> => ({
    name: `attempts no report for an event that is ${what}, and logs why`,
    budgetMs: 3_000,
    config: (f) => healthy(f),
    payload,
    expect: {
      reports: 0,
      delivery: ['not-reported'],
      reason: why,
      log: new RegExp(NOT_AN_EVENT.source + '.*' + why.source),
      more: (run) => expect(run.attempts).toHaveLength(0),
    },
  })),

  // Broken configs: reported as Failed with the config error
  {
    name: 'reports Failed naming the path when the config file is missing',
    budgetMs: 3_000,
    config: () => undefined,
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^config error: cannot read config .*greenlight-\w+\.yml: file not found$/,
      log: /^the hook could not run its checks: config error: cannot read config/,
    },
  },
  {
    name: 'reports Failed naming the line when the config is not valid YAML',
    budgetMs: 3_000,
    config: (f) => healthy(f).replace('hooks:\n', 'hooks:\n  - [\n'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^config error: .*greenlight-\w+\.yml: invalid YAML at line \d+, column \d+/,
    },
  },
  {
    name: 'reports Failed listing the known types when a check names an unknown type',
    budgetMs: 3_000,
    config: () =>
      hookConfig({
        checks: `  mail:\n    type: smtp\n    password: "\${env:FAULTS_DB_PASSWORD}"\n`,
        hooked: ['mail'],
      }),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^config error: .*: checks\.mail\.type: expected one of .*"http".*, got "smtp"/,
    },
  },
  {
    name: 'reports Failed naming the variable when the config uses an unset environment variable',
    budgetMs: 3_000,
    config: (f) =>
      hookConfig({
        targets: `{ test: "${f.app.url}" }`,
        checks: `  smoke:\n    type: http\n    headers: { authorization: "Bearer \${env:FAULTS_UNSET_TOKEN}" }\n    requests: [{ path: /health }]\n`,
        hooked: ['smoke'],
      }),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^config error: checks\.smoke\.headers\.authorization: .*FAULTS_UNSET_TOKEN/,
    },
  },
  {
    name: 'reports Failed without echoing a secret that lands in a field of the wrong type',
    budgetMs: 3_000,
    config: (f) =>
      hookConfig({
        targets: `{ test: "${f.app.url}" }`,
        checks: `  smoke:\n    type: http\n    requestTimeoutMs: "\${env:FAULTS_API_TOKEN}"\n    requests: [{ path: /health }]\n`,
        hooked: ['smoke'],
      }),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^config error: .*checks\.smoke\.requestTimeoutMs: /,
    },
  },

  // CloudWatch down (this file points the CloudWatch client at a port nothing listens on)
  {
    name: 'reports Failed naming DescribeAlarms and the refused connection when CloudWatch is down',
    budgetMs: 4_000,
    config: () => cloudWatchDown('alarms', '    names: [faults-web-5xx]\n'),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason:
        /^'cw' error: DescribeAlarms (failed after \d attempts: .*ECONNREFUSED|got no answer before the check deadline)/,
    },
  },
  {
    name: 'reports Failed naming GetMetricData when CloudWatch is down for a metrics check',
    budgetMs: 4_000,
    config: () =>
      cloudWatchDown(
        'metrics',
        '    queries: [{ id: errors, metric: { namespace: AWS/ApplicationELB, name: HTTPCode_Target_5XX_Count, dimensions: { LoadBalancer: app/faults/1 } }, stat: Sum }]\n    condition: { atMost: 1 }\n',
      ),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'cw' error: .*GetMetricData .*(ECONNREFUSED|no answer)/,
    },
  },
  {
    name: 'reports Failed naming GetMetricData when CloudWatch is down for a target-groups check',
    budgetMs: 4_000,
    config: () =>
      cloudWatchDown(
        'target-groups',
        '    loadBalancer: app/faults-alb/1\n    green: targetgroup/faults-tg-2/2\n    blue: targetgroup/faults-tg-1/1\n',
      ),
    expect: {
      reports: 1,
      status: 'Failed',
      delivery: ['reported'],
      reason: /^'cw' error: .*GetMetricData .*(ECONNREFUSED|no answer)/,
    },
  },
];

const codeDeploy = new LocalCodeDeploy();
const dir = mkdtempSync(join(tmpdir(), 'greenlight-faults-'));
const runs = new Map<string, ScenarioRun>();
let fixtures: Fixtures;
let output: ReturnType<typeof captureOutput>;
let heapGrowthBytes = 0;

beforeAll(async () => {
  installSecrets();
  output = captureOutput();
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codeDeploy.server.start();
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = `http://127.0.0.1:${await refusedPort()}`;
  fixtures = {
    app: await startHttpServer((_req, res) => res.end('ok')),
    silent: await silentEndpoint(),
    deadCodeDeployUrl: `http://127.0.0.1:${await refusedPort()}`,
  };
  // Warm up module loading (SDK clients, check types) so the heap figure measures the matrix.
  await runScenario(scenarios[0]!, fixtures, { dir, codeDeploy });
  const before = settledHeapBytes();
  const results = await inPool(scenarios, 8, (s) => runScenario(s, fixtures, { dir, codeDeploy }));
  scenarios.forEach((s, i) => runs.set(s.name, results[i]!));
  heapGrowthBytes = settledHeapBytes() - before;
}, 60_000);

afterAll(async () => {
  output?.restore();
  await Promise.all([codeDeploy.server.stop(), fixtures?.app.close(), fixtures?.silent.close()]);
  rmSync(dir, { recursive: true, force: true });
  clearRegisteredSecrets();
});

describeFaultMatrix(
  'faults around the hook',
  scenarios,
  () => ({ runs, output, fixtures, heapGrowthBytes }),
  48 * 1024 * 1024,
);
