import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AwsJsonServer } from '../support/aws-json-server';
import { elbv2Server } from '../support/aws-query-server';
import { CodeDeployOverMoto } from '../support/codedeploy-over-moto';
import { MotoServer } from '../support/moto-server';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { serverless } from '../deploy/serverless-support';
import { alarm } from '../support/aws-world';
import { ecsHookEvent, GREEN_REVISION, serviceDeploymentArn } from '../support/ecs-hook-events';
import { fixture } from '../watch/support/watch-world';
import { invoke, packageStack, unpack, verdicts, type PackagedStack } from './artifact-kit';

// The hooks packaged with `--param=awsSdk=runtime`: the zips carry no AWS SDK and load the copy
// the Lambda runtime provides (here a stand-in folder on NODE_PATH holding the SDK clients and
// their dependencies, and nothing else). The ECS built-in hook answers a passing, a failing and a
// rollback invocation, a failing one with what green's tasks show (ECS and ELBv2 stand-ins); a
// config naming a check type the bundle left out reports Failed saying so;
// and `serverless invoke local` runs a CodeDeploy hook and the ECS hook to one answer each.
jest.setTimeout(300_000);

const run = randomBytes(3).toString('hex');
const moto = new MotoServer();
const codedeploy = new CodeDeployOverMoto(() => moto.url);
/** ECS DescribeServiceDeployments and DescribeServiceRevisions, which moto does not implement. */
const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
/** ELBv2 target health with its reasons, which moto does not give. */
const elb = elbv2Server();
const GREEN_TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/3333cccc4444dddd';
const GREEN_TASK_DEFINITION = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:9';
let stack: PackagedStack;
let green: TestServer;
const app = { greenHealth: 200 };
const alarmName = `art-${run}-latency`;

const DEPLOYMENT = serviceDeploymentArn(run);
const ecsEvent = (stage: string, executionId: string) =>
  ecsHookEvent({ stage, executionId, deploymentId: run });

const serviceDeploymentStatus = { value: 'IN_PROGRESS' };

beforeAll(async () => {
  green = await startHttpServer((req, res) =>
    res.writeHead(req.url === '/health' ? app.greenHealth : 404).end('green'),
  );
  await Promise.all([moto.start(), codedeploy.start(), ecs.start(), elb.start()]);
  ecs.on('DescribeServiceDeployments', () => ({
    body: {
      serviceDeployments: [{ serviceDeploymentArn: DEPLOYMENT, status: serviceDeploymentStatus.value }],
      failures: [],
    },
  }));
  await alarm(moto.url, alarmName, 'OK');
  stack = await packageStack(
    `targets:
  test: ${green.url}
checks:
  smoke:
    type: http
    requests: [{ path: /health, expect: { status: 200 } }]
  latency:
    type: alarms
    names: [${alarmName}]
hooks:
  POST_TEST_TRAFFIC_SHIFT: [smoke]
  PRODUCTION_TRAFFIC_SHIFT: [latency]
  AfterAllowTestTraffic: [smoke, latency]
`,
    ['awsSdk=runtime'],
  );
});

afterAll(async () => {
  await Promise.all([green?.close(), moto.stop(), codedeploy.stop(), ecs.stop(), elb.stop()]);
  stack?.remove();
});

const awsEnv = () => ({
  AWS_ENDPOINT_URL: moto.url,
  AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.server.url,
  AWS_ENDPOINT_URL_ECS: ecs.url,
  AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elb.url,
});

describe('hooks packaged to use the Lambda runtime’s AWS SDK', () => {
  it('leaves the AWS SDK out of the zips', () => {
    const fn = stack.functions.get('afterAllowTestTraffic')!;
    const root = unpack(fn);
    const files = readdirSync(join(root, 'handlers'));
    expect(files).toContain('package.json');
    expect(files.every((f) => f === 'package.json' || f.endsWith('.js'))).toBe(true);
    expect(readdirSync(root)).not.toContain('node_modules');
  });

  it('fails to start, naming the missing module, where the runtime provides no SDK', async () => {
    const fn = stack.functions.get('afterAllowTestTraffic')!;
    const executionId = `exec-${run}-nosdk`;
    const result = await invoke(
      fn,
      [{ DeploymentId: 'd-ARTIFACT1', LifecycleEventHookExecutionId: executionId }],
      {
        timeoutS: 60,
        env: awsEnv(),
      },
    );
    // As Lambda would: Runtime.ImportModuleError before the handler exists, so nothing is reported.
    expect(result.records).toEqual([
      {
        initError: expect.objectContaining({
          errorMessage: expect.stringContaining("'@aws-sdk/client-codedeploy'"),
        }),
      },
    ]);
    expect(codedeploy.reportsOf(executionId)).toEqual([]);
  });

  it('reads CloudWatch through the runtime’s SDK and reports Succeeded while the alarm is OK', async () => {
    const fn = stack.functions.get('afterAllowTestTraffic')!;
    const executionId = `exec-${run}-sdk-ok`;
    const result = await invoke(
      fn,
      [{ DeploymentId: 'd-ARTIFACT1', LifecycleEventHookExecutionId: executionId }],
      {
        timeoutS: 60,
        sdk: 'runtime',
        env: awsEnv(),
      },
    );
    expect(result.records).toEqual([
      { result: expect.objectContaining({ status: 'Succeeded', delivery: 'reported' }) },
    ]);
    expect(codedeploy.reportsOf(executionId)).toEqual(['Succeeded']);
  });

  it('reports Failed, naming the check type, when the config names one the bundle left out', async () => {
    const fn = stack.functions.get('afterAllowTestTraffic')!;
    const root = unpack(fn);
    writeFileSync(
      join(root, 'greenlight.yml'),
      `targets: { test: "${green.url}" }\nchecks:\n  db: { type: schema, url: "postgres://127.0.0.1/x", contracts: { green: { inline: {} } } }\nhooks:\n  AfterAllowTestTraffic: [db]\n`,
    );
    const executionId = `exec-${run}-omitted`;
    const result = await invoke(
      fn,
      [{ DeploymentId: 'd-ARTIFACT1', LifecycleEventHookExecutionId: executionId }],
      {
        timeoutS: 60,
        sdk: 'runtime',
        taskRoot: root,
        env: awsEnv(),
      },
    );
    expect(codedeploy.reportsOf(executionId)).toEqual(['Failed']);
    expect(verdicts(result)[0]?.reason).toMatch(
      /checks\.db\.type: check type "schema" is not in this bundle.*package the hooks again/,
    );
  });
});

describe('the ECS built-in hook, unzipped, using the runtime’s SDK', () => {
  const decide = async (stage: string, executionId: string) => {
    const fn = stack.functions.get('ecsLifecycleHook')!;
    const result = await invoke(fn, [ecsEvent(stage, executionId)], {
      timeoutS: 60,
      sdk: 'runtime',
      env: awsEnv(),
    });
    expect(result.records).toHaveLength(1);
    return result;
  };

  it('answers SUCCEEDED when green passes its smoke test', async () => {
    const result = await decide('POST_TEST_TRAFFIC_SHIFT', `ecs-${run}-pass`);
    expect(result.records[0]).toEqual({ result: { hookStatus: 'SUCCEEDED' } });
  });

  describe('when green answers 503 at POST_TEST_TRAFFIC_SHIFT', () => {
    const reasonOf = (result: Awaited<ReturnType<typeof decide>>) =>
      String(result.logs.find((l) => l.message === 'hook status')?.reason);
    beforeEach(() => {
      app.greenHealth = 503;
      // Green's service revision, its task killed for memory, and its one target unhealthy.
      ecs.on('DescribeServiceRevisions', () => ({
        body: {
          serviceRevisions: [
            {
              serviceRevisionArn: GREEN_REVISION,
              serviceArn: 'arn:aws:ecs:eu-west-1:123456789012:service/web-cluster/web',
              clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/web-cluster',
              taskDefinition: GREEN_TASK_DEFINITION,
              resolvedConfiguration: { loadBalancers: [{ targetGroupArn: GREEN_TG }] },
            },
          ],
          failures: [],
        },
      }));
      const stopped = fixture('ecs-describe-tasks-stopped');
      stopped.tasks[0].taskDefinitionArn = GREEN_TASK_DEFINITION;
      stopped.tasks[0].containers[0].exitCode = 137;
      ecs.on('ListTasks', () => ({ body: { taskArns: [stopped.tasks[0].taskArn] } }));
      ecs.on('DescribeTasks', () => ({ body: stopped }));
      elb.on('DescribeTargetHealth', () => ({
        result: {
          TargetHealthDescriptions: [
            {
              Target: { Id: '10.0.2.21', Port: 8080 },
              TargetHealth: {
                State: 'unhealthy',
                Reason: 'Target.ResponseCodeMismatch',
                Description: 'Health checks failed with these codes: [503]',
              },
            },
          ],
        },
      }));
    });
    afterEach(() => {
      app.greenHealth = 200;
    });

    it('answers FAILED, the reason naming the OOM kill of green’s task', async () => {
      const result = await decide('POST_TEST_TRAFFIC_SHIFT', `ecs-${run}-fail`);

      expect(result.records[0]).toEqual({ result: { hookStatus: 'FAILED' } });
      expect(reasonOf(result)).toMatch(
        /^'smoke' failed: GET .*\/health returned 503.*; green's tasks: container killed for memory \(OOM\): task 4f1c3b9e2a7d4c0f8e6b5a4d3c2b1a09/,
      );
      expect(ecs.callsOf('DescribeServiceRevisions').at(-1)!.body).toEqual({
        serviceRevisionArns: [GREEN_REVISION],
      });
      expect(elb.callsOf('DescribeTargetHealth').at(-1)!.params.TargetGroupArn).toBe(GREEN_TG);
    });

    it('answers FAILED, the reason naming the permission the diagnosis lacks, when ECS denies it', async () => {
      ecs.on('DescribeServiceRevisions', () => ({
        error: 'AccessDeniedException',
        message: 'not authorized to perform: ecs:DescribeServiceRevisions',
      }));

      const result = await decide('POST_TEST_TRAFFIC_SHIFT', `ecs-${run}-denied`);

      expect(result.records[0]).toEqual({ result: { hookStatus: 'FAILED' } });
      expect(reasonOf(result)).toMatch(
        /^'smoke' failed: .*; diagnosis of green's tasks not available: the role needs ecs:DescribeServiceRevisions$/,
      );
    });
  });

  it('answers FAILED at a traffic step while the alarm is in ALARM', async () => {
    await alarm(moto.url, alarmName, 'ALARM');
    try {
      const result = await decide('PRODUCTION_TRAFFIC_SHIFT', `ecs-${run}-alarm`);
      expect(result.records[0]).toEqual({ result: { hookStatus: 'FAILED' } });
    } finally {
      await alarm(moto.url, alarmName, 'OK');
    }
  });

  it('answers SUCCEEDED, without running checks, while ECS rolls back', async () => {
    await alarm(moto.url, alarmName, 'ALARM');
    serviceDeploymentStatus.value = 'ROLLBACK_IN_PROGRESS';
    try {
      const result = await decide('PRODUCTION_TRAFFIC_SHIFT', `ecs-${run}-rollback`);
      expect(result.records[0]).toEqual({ result: { hookStatus: 'SUCCEEDED' } });
      const line = result.logs.find((l) => l.message === 'hook status');
      expect(line?.reason).toMatch(/rollback in progress .*ROLLBACK_IN_PROGRESS/);
    } finally {
      serviceDeploymentStatus.value = 'IN_PROGRESS';
      await alarm(moto.url, alarmName, 'OK');
    }
  });
});

describe('serverless invoke local', () => {
  const invokeLocal = (fn: string, event: unknown) =>
    serverless(
      stack.dir,
      [
        'invoke',
        'local',
        '-f',
        fn,
        '--stage',
        'art',
        '--region',
        'eu-west-1',
        '--data',
        JSON.stringify(event),
      ],
      60_000,
      {
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...awsEnv(),
      },
    );
  /** osls prints the handler's answer as indented JSON after the function's own log lines. */
  const answer = (stdout: string) =>
    JSON.parse(stdout.slice(stdout.lastIndexOf('\n{\n') + 1)) as Record<string, unknown>;

  it('runs a CodeDeploy hook to one report and exits', async () => {
    const executionId = `exec-${run}-local`;
    const result = await invokeLocal('afterAllowTestTraffic', {
      DeploymentId: 'd-ARTIFACT1',
      LifecycleEventHookExecutionId: executionId,
    });
    expect(result.code).toBe(0);
    expect(answer(result.stdout)).toMatchObject({ status: 'Succeeded', delivery: 'reported' });
    expect(codedeploy.reportsOf(executionId)).toEqual(['Succeeded']);
  });

  it('runs the ECS hook to one hookStatus and exits', async () => {
    const result = await invokeLocal(
      'ecsLifecycleHook',
      ecsEvent('POST_TEST_TRAFFIC_SHIFT', `ecs-${run}-local`),
    );
    expect(result.code).toBe(0);
    expect(answer(result.stdout)).toEqual({ hookStatus: 'SUCCEEDED' });
  });
});
