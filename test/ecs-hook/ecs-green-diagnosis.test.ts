// A failed http check at an ECS built-in stage where green's tasks run: the hook adds what green's
// service revision's tasks show to its FAILED reason, as the CodeDeploy hooks do.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { createEcsHookDecider } from '../../hooks/ecs-hook-handler';
import type { EcsHookHandlerOptions } from '../../hooks/ecs-hook-types';
import { silentLogger } from '../../lib/log';
import { AwsJsonServer } from '../support/aws-json-server';
import { elbv2Server, type AwsQueryServer } from '../support/aws-query-server';
import { ecsHookEvent, GREEN_REVISION } from '../support/ecs-hook-events';
import { freePort, startHttpServer, type TestServer } from '../support/http-servers';
import { fixture, type Doc } from '../watch/support/watch-world';

const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const ACCOUNT = `arn:aws:ecs:${REGION}:123456789012`;
const GREEN_TASK_DEFINITION = `${ACCOUNT}:task-definition/web:9`;
const BLUE_TASK_DEFINITION = `${ACCOUNT}:task-definition/web:8`;
const TG = `arn:aws:elasticloadbalancing:${REGION}:123456789012:targetgroup`;
const BLUE_TG = `${TG}/web-blue/1111aaaa2222bbbb`;
const GREEN_TG = `${TG}/web-green/3333cccc4444dddd`;

const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
let elb: AwsQueryServer;
let green: TestServer;
const dir = mkdtempSync(join(tmpdir(), 'ecs-green-'));
let n = 0;

beforeAll(async () => {
  elb = elbv2Server();
  await Promise.all([ecs.start(), elb.start()]);
  green = await startHttpServer((_req, res) => res.writeHead(503).end('starting'));
});
afterAll(async () => {
  await Promise.all([ecs.stop(), elb.stop(), green.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** Green's service revision as DescribeServiceRevisions returns it; `resolved: false` as before ECS resolved its target groups. */
function revision(resolved = true): Doc {
  return {
    serviceRevisionArn: GREEN_REVISION,
    serviceArn: `${ACCOUNT}:service/web-cluster/web`,
    clusterArn: `${ACCOUNT}:cluster/web-cluster`,
    taskDefinition: GREEN_TASK_DEFINITION,
    loadBalancers: [
      {
        targetGroupArn: BLUE_TG,
        containerName: 'web',
        containerPort: 8080,
        advancedConfiguration: {
          alternateTargetGroupArn: GREEN_TG,
          productionListenerRule: `arn:aws:elasticloadbalancing:${REGION}:123456789012:listener-rule/app/web/1/2/3`,
          roleArn: 'arn:aws:iam::123456789012:role/ecs-elb',
        },
      },
    ],
    ...(resolved
      ? {
          resolvedConfiguration: {
            loadBalancers: [{ targetGroupArn: GREEN_TG, productionListenerRule: 'r' }],
          },
        }
      : {}),
  };
}

/** Green's task killed for memory, and a task of blue's task definition that stopped later. */
function stoppedTasks(): Doc {
  const stopped = fixture('ecs-describe-tasks-stopped');
  const oom = stopped.tasks[0];
  Object.assign(oom, { taskDefinitionArn: GREEN_TASK_DEFINITION });
  Object.assign(oom.containers[0], {
    exitCode: 137,
    reason: 'OutOfMemoryError: Container killed due to memory usage',
  });
  const blue = structuredClone(oom);
  Object.assign(blue, {
    taskArn: `${oom.taskArn}-blue`,
    taskDefinitionArn: BLUE_TASK_DEFINITION,
    stopCode: 'UserInitiated',
    stoppedAt: oom.stoppedAt + 60,
  });
  stopped.tasks.push(blue);
  return stopped;
}

function targets(state: string, reason?: string, description?: string) {
  return {
    result: {
      TargetHealthDescriptions: [
        {
          Target: { Id: '10.0.2.21', Port: 8080 },
          HealthCheckPort: '8080',
          TargetHealth: { State: state, ...(reason ? { Reason: reason, Description: description } : {}) },
        },
      ],
    },
  };
}

beforeEach(() => {
  ecs.reset();
  elb.reset();
  ecs.on('DescribeServiceRevisions', () => ({ body: { serviceRevisions: [revision()], failures: [] } }));
  const stopped = stoppedTasks();
  ecs.on('ListTasks', () => ({ body: { taskArns: stopped.tasks.map((t: Doc) => t.taskArn) } }));
  ecs.on('DescribeTasks', () => ({ body: stopped }));
  ecs.on('DescribeServiceDeployments', () => ({
    body: { serviceDeployments: [{ status: 'IN_PROGRESS' }], failures: [] },
  }));
  elb.on('DescribeTargetHealth', () => targets('healthy'));
});

/** The ECS hook deciding `stage`, whose one http check GETs /health from `url` (green by default). */
async function decideWithSmoke(
  stage: string,
  options: Partial<EcsHookHandlerOptions> & { url?: string } = {},
) {
  const { url = green.url, ...rest } = options;
  const configPath = join(dir, `greenlight-${++n}.yml`);
  writeFileSync(
    configPath,
    `targets: { test: "${url}" }\n` +
      `checks:\n  smoke: { type: http, requests: [{ path: /health, expect: { status: 200 } }], timeoutMs: 1000 }\n` +
      `hooks:\n  ${stage}: [smoke]\nrunner: { reportReserveMs: 1000 }\n`,
  );
  const decide = createEcsHookDecider({
    configPath,
    log: silentLogger,
    ecs: new ECSClient({ endpoint: ecs.url, region: REGION, credentials, maxAttempts: 1 }),
    elbv2: new ElasticLoadBalancingV2Client({
      endpoint: elb.url,
      region: REGION,
      credentials,
      maxAttempts: 1,
    }),
    ...rest,
  });
  return decide(ecsHookEvent({ stage, executionId: `exec-${n}`, deploymentId: `dep${n}` }), {
    getRemainingTimeInMillis: () => 30_000,
    awsRequestId: `req-${n}`,
  });
}

describe('the ECS hook’s FAILED answer with the diagnosis of green’s tasks', () => {
  it('names the OOM kill of a task of green’s revision when the smoke test fails at POST_TEST_TRAFFIC_SHIFT', async () => {
    const decision = await decideWithSmoke('POST_TEST_TRAFFIC_SHIFT');

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).toMatch(/^'smoke' failed: GET http:\/\/127\.0\.0\.1:\d+\/health returned 503/);
    expect(decision.reason).toContain(
      "; green's tasks: container killed for memory (OOM): task 4f1c3b9e2a7d4c0f8e6b5a4d3c2b1a09",
    );
    // Green is the target service revision: its cluster, its service's tasks, its target group.
    expect(ecs.callsOf('DescribeServiceRevisions')[0]!.body).toEqual({
      serviceRevisionArns: [GREEN_REVISION],
    });
    expect(ecs.callsOf('ListTasks')[0]!.body).toMatchObject({
      cluster: `${ACCOUNT}:cluster/web-cluster`,
      serviceName: 'web',
      desiredStatus: 'STOPPED',
    });
    expect(elb.callsOf('DescribeTargetHealth').map((c) => c.params.TargetGroupArn)).toEqual([GREEN_TG]);
  });

  it('reads the alternate target group, and names an unhealthy target’s reason, when no stopped task explains it', async () => {
    ecs.on('DescribeServiceRevisions', () => ({
      body: { serviceRevisions: [revision(false)], failures: [] },
    }));
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));
    elb.on('DescribeTargetHealth', () =>
      targets('unhealthy', 'Target.ResponseCodeMismatch', 'Health checks failed with these codes: [404]'),
    );

    const decision = await decideWithSmoke('TEST_TRAFFIC_SHIFT');

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).toContain(
      "; green's tasks: health check path answers an unexpected status: target 10.0.2.21:8080",
    );
    expect(decision.reason).toContain('Target.ResponseCodeMismatch');
    expect(elb.callsOf('DescribeTargetHealth').map((c) => c.params.TargetGroupArn)).toEqual([GREEN_TG]);
  });

  it('says which permission would give the diagnosis when ECS denies DescribeServiceRevisions', async () => {
    ecs.on('DescribeServiceRevisions', () => ({
      error: 'AccessDeniedException',
      message:
        'User: arn:aws:sts::123456789012:assumed-role/hook/fn is not authorized to perform: ecs:DescribeServiceRevisions',
    }));

    const decision = await decideWithSmoke('POST_TEST_TRAFFIC_SHIFT');

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).toMatch(
      /'smoke' failed: .*; diagnosis of green's tasks not available: the role needs ecs:DescribeServiceRevisions$/,
    );
    expect(ecs.callsOf('ListTasks')).toHaveLength(0);
  });

  it('keeps what it could read when ListTasks is denied, and names that permission', async () => {
    ecs.on('ListTasks', () => ({
      error: 'AccessDeniedException',
      message: 'not authorized to perform: ecs:ListTasks',
    }));

    const decision = await decideWithSmoke('POST_SCALE_UP');

    expect(decision.reason).toContain("green's tasks: targets: 1 healthy");
    expect(decision.reason).toContain(
      "diagnosis of green's tasks not available: the role needs ecs:ListTasks",
    );
  });

  it('diagnoses an unreachable green once the stage stops waiting, not while it answers IN_PROGRESS', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;

    const waiting = await decideWithSmoke('POST_TEST_TRAFFIC_SHIFT', { url, maxWaitSeconds: 600 });
    expect(waiting.response.hookStatus).toBe('IN_PROGRESS');
    expect(waiting.reason).not.toContain("green's tasks");
    expect(ecs.callsOf('DescribeServiceRevisions')).toHaveLength(0);

    const failed = await decideWithSmoke('POST_TEST_TRAFFIC_SHIFT', { url, maxWaitSeconds: 10 });
    expect(failed.response).toEqual({ hookStatus: 'FAILED' });
    expect(failed.reason).toMatch(
      /^still error after 1 attempts .*ECONNREFUSED.*; green's tasks: container killed for memory \(OOM\)/,
    );
  });

  it.each([
    ['a stage where green takes no test traffic yet', 'PRE_SCALE_UP', {}],
    ['a production traffic step', 'PRODUCTION_TRAFFIC_SHIFT', {}],
    ['diagnoseGreen: false', 'POST_TEST_TRAFFIC_SHIFT', { diagnoseGreen: false }],
  ])('leaves the reason alone at %s', async (_what, stage, options) => {
    const decision = await decideWithSmoke(stage, options);

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).not.toContain("green's tasks");
    expect(ecs.callsOf('DescribeServiceRevisions')).toHaveLength(0);
  });
});
