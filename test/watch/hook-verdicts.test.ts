import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { EXIT_FAILED, EXIT_OK } from '../../bin/command';
import { createWatchCommand, EXIT_STALLED } from '../../bin/commands/watch';
import { codeDeployServer, forwardCall, type AwsJsonServer } from '../support/aws-json-server';
import { blueGreenDeployment, REGION, type BlueGreenWorld } from '../support/aws-world';
import { MotoServer } from '../support/moto-server';
import { cliIO } from '../cli/cli-io';
import { ecsServer, fixture, useEndpoints, virtualClock, type Doc } from './support/watch-world';

// The hooks' verdicts come from their log groups (CloudWatch Logs FilterLogEvents, in moto).
const moto = new MotoServer();
let ecs: AwsJsonServer;
let codedeploy: AwsJsonServer;
let restore: () => void;
/** Log timestamps must be recent for CloudWatch Logs: the watch's clock starts now. */
const START = Date.now();

beforeAll(async () => {
  await moto.start();
  ecs = ecsServer();
  await ecs.start();
  codedeploy = codeDeployServer();
  await codedeploy.start();
});
afterAll(async () => {
  await codedeploy.stop();
  await ecs.stop();
  await moto.stop();
});
beforeEach(() => {
  ecs.reset();
  codedeploy.reset();
  restore = useEndpoints({
    AWS_ENDPOINT_URL_ECS: ecs.url,
    AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: moto.url,
    AWS_ENDPOINT_URL_CLOUDWATCH: moto.url,
    AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.url,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: moto.url,
  });
});
afterEach(() => restore());

/** A Lambda's log group in moto holding these JSON lines, logged `agoMs` before the watch starts. */
async function hookLog(fn: string, lines: { agoMs: number; doc: Doc }[]) {
  const logs = new CloudWatchLogsClient({
    endpoint: moto.url,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const group = `/aws/lambda/${fn}`;
  await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
  await logs.send(
    new CreateLogStreamCommand({ logGroupName: group, logStreamName: '2026/12/06/[$LATEST]a1' }),
  );
  await logs.send(
    new PutLogEventsCommand({
      logGroupName: group,
      logStreamName: '2026/12/06/[$LATEST]a1',
      logEvents: lines.map((l) => ({ timestamp: START - l.agoMs, message: JSON.stringify(l.doc) })),
    }),
  );
}

/** The JSON line the CodeDeploy hook logs once it has decided. */
const verdictLine = (deploymentId: string, lifecycleEvent: string, status: string, reason: string) => ({
  level: 'INFO',
  message: 'verdict',
  service: 'greenlight',
  timestamp: new Date(START).toISOString(),
  lifecycleEvent,
  deploymentId,
  lifecycleEventHookExecutionId: 'exec-1==',
  status,
  reason,
  outcome: status === 'Succeeded' ? 'passed' : 'failed',
});

/** CodeDeploy over moto: GetDeployment says `status(poll)`, GetDeploymentTarget edits the lifecycle events. */
function scriptCodeDeploy(
  status: (poll: number) => Record<string, unknown>,
  events: (poll: number, lifecycle: Doc[]) => void,
) {
  let polls = 0;
  codedeploy.on('GetDeploymentGroup', (call) => forwardCall(moto.url, call));
  codedeploy.on('GetDeployment', async (call) => {
    const reply = await forwardCall(moto.url, call);
    if (!('body' in reply)) return reply;
    const info = (reply.body as { deploymentInfo: Record<string, unknown> }).deploymentInfo;
    info.createTime = Date.parse(String(info.createTime)) / 1000;
    Object.assign(info, status(polls++));
    return reply;
  });
  codedeploy.on('GetDeploymentTarget', (call) => {
    const doc = fixture('codedeploy-get-deployment-target');
    const target = doc.deploymentTarget.ecsTarget;
    Object.assign(target, { deploymentId: call.body.deploymentId, targetId: call.body.targetId });
    events(polls, target.lifecycleEvents);
    return { body: doc };
  });
  ecs.on('DescribeServices', (call) => forwardCall(moto.url, call));
  ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));
}

async function run(args: string[]) {
  const clock = virtualClock(new Date(START).toISOString());
  const { io, stdout } = cliIO();
  const code = await createWatchCommand({ clock }).run(args, io);
  return { code, stdout: stdout() };
}

describe('greenlight watch: hook verdicts from the hooks’ log groups', () => {
  let world: BlueGreenWorld;

  it('shows each hook’s verdict and names the failed hook with its own reason', async () => {
    world = await blueGreenDeployment(moto.url, 'hookfail');
    const reason =
      "'smoke' failed: GET http://test-listener:8080/health returned 503, expected 200; green's tasks: essential container exited: task 4f1c3b9e: essential container web exited with code 1";
    await hookLog('greenlight-prod-AfterInstall', [
      {
        agoMs: 120_000,
        doc: verdictLine(world.deploymentId, 'AfterInstall', 'Succeeded', 'all 1 gating checks passed'),
      },
    ]);
    await hookLog('greenlight-prod-AfterAllowTestTraffic', [
      // Another deployment's verdict in the same log group is not this one's.
      { agoMs: 7_200_000, doc: verdictLine('d-OTHER0001', 'AfterAllowTestTraffic', 'Failed', 'old news') },
      { agoMs: 90_000, doc: verdictLine('d-OTHER0002', 'AfterAllowTestTraffic', 'Failed', 'not ours') },
      { agoMs: 30_000, doc: verdictLine(world.deploymentId, 'AfterAllowTestTraffic', 'Failed', reason) },
      { agoMs: 29_000, doc: { level: 'INFO', message: 'running checks', deploymentId: world.deploymentId } },
    ]);
    scriptCodeDeploy(
      (poll) =>
        poll < 2
          ? { status: 'InProgress' }
          : {
              status: 'Failed',
              errorInformation: {
                code: 'HOOK_EXECUTION_FAILURE',
                message: 'The deployment failed because one or more lifecycle event hooks failed.',
              },
              rollbackInfo: { rollbackDeploymentId: 'd-RB0000001' },
            },
      (poll, lifecycle) => {
        if (poll > 1)
          Object.assign(lifecycle[4]!, {
            status: 'Failed',
            diagnostics: { errorCode: 'ScriptFailed', message: 'reported Failed' },
          });
      },
    );

    const { code, stdout } = await run([
      '--deployment-id',
      world.deploymentId,
      '--interval',
      '10s',
      // A function name (its /aws/lambda/ group) and a log group name alike.
      '--hook-log-group',
      'greenlight-prod-AfterInstall',
      '--hook-log-group',
      '/aws/lambda/greenlight-prod-AfterAllowTestTraffic',
    ]);

    expect(code).toBe(EXIT_FAILED);
    expect(stdout).toMatch(/hook-verdict\s+hook AfterInstall: Succeeded \(all 1 gating checks passed\)/);
    expect(stdout).toContain(`hook AfterAllowTestTraffic: Failed ('smoke' failed: GET`);
    expect(stdout).not.toContain('not ours');
    expect(stdout).not.toContain('old news');
    expect(stdout).toContain(
      "diagnosis: lifecycle hook failed: AfterAllowTestTraffic Failed: 'smoke' failed: GET http://test-listener:8080/health returned 503, expected 200; green's tasks: essential container exited",
    );
  });

  it('says a hook decided but its report never reached CodeDeploy, when the event stalls', async () => {
    world = await blueGreenDeployment(moto.url, 'hooklost');
    await hookLog('greenlight-prod-AfterAllowTestTraffic-lost', [
      {
        agoMs: 60_000,
        doc: verdictLine(
          world.deploymentId,
          'AfterAllowTestTraffic',
          'Succeeded',
          'all 2 gating checks passed',
        ),
      },
    ]);
    scriptCodeDeploy(
      () => ({ status: 'InProgress' }),
      () => {},
    );

    const { code, stdout } = await run([
      '--deployment-id',
      world.deploymentId,
      '--stall-after',
      '2m',
      '--hook-log-group',
      'greenlight-prod-AfterAllowTestTraffic-lost',
    ]);

    expect(code).toBe(EXIT_STALLED);
    expect(stdout).toContain('hook AfterAllowTestTraffic: Succeeded (all 2 gating checks passed)');
    expect(stdout).toMatch(
      /diagnosis: lifecycle hook timed out: AfterAllowTestTraffic InProgress for 2 min with no report from its hook; the hook logged Succeeded at \d\d:\d\d:\d\d UTC but its report never reached CodeDeploy/,
    );
  });

  it('finds the hooks’ log groups in the deployment’s appspec when none is given', async () => {
    world = await blueGreenDeployment(moto.url, 'hookfound');
    await hookLog('CodeDeployHook_greenlight-prod-AfterAllowTestTraffic', [
      {
        agoMs: 40_000,
        doc: verdictLine(world.deploymentId, 'AfterAllowTestTraffic', 'Failed', "'smoke' failed: 503"),
      },
    ]);
    // The appspec as `aws deploy create-deployment --revision AppSpecContent` carries it (YAML).
    const appspec = [
      'version: 0.0',
      'Resources:',
      '  - TargetService: { Type: AWS::ECS::Service, Properties: { TaskDefinition: "arn:td:7" } }',
      'Hooks:',
      '  - AfterAllowTestTraffic: "CodeDeployHook_greenlight-prod-AfterAllowTestTraffic"',
      '  - BeforeAllowTraffic: "arn:aws:lambda:eu-west-1:123456789012:function:CodeDeployHook_greenlight-prod-BeforeAllowTraffic"',
    ].join('\n');
    scriptCodeDeploy(
      (poll) => ({
        revision: { revisionType: 'AppSpecContent', appSpecContent: { content: appspec } },
        ...(poll < 2
          ? { status: 'InProgress' }
          : {
              status: 'Failed',
              errorInformation: { code: 'HOOK_EXECUTION_FAILURE', message: 'a lifecycle event hook failed.' },
            }),
      }),
      (poll, lifecycle) => {
        if (poll > 1) Object.assign(lifecycle[4]!, { status: 'Failed' });
      },
    );

    const { code, stdout } = await run(['--deployment-id', world.deploymentId, '--interval', '10s']);

    expect(code).toBe(EXIT_FAILED);
    expect(stdout).toContain(
      "hook verdicts from /aws/lambda/CodeDeployHook_greenlight-prod-AfterAllowTestTraffic, /aws/lambda/CodeDeployHook_greenlight-prod-BeforeAllowTraffic (found in the deployment's appspec)",
    );
    expect(stdout).toContain("hook AfterAllowTestTraffic: Failed ('smoke' failed: 503)");
  });

  it('finds an ECS blue/green service’s hook in its lifecycle hooks; a given --hook-log-group comes first', async () => {
    const hookArn = 'arn:aws:lambda:eu-west-1:123456789012:function:greenlight-prod-EcsLifecycleHook';
    const deploymentArn =
      'arn:aws:ecs:eu-west-1:123456789012:service-deployment/web-cluster/web/r3k1TQhG5Jg9OCw2aFgGp';
    await hookLog('greenlight-prod-EcsLifecycleHook', [
      {
        agoMs: 20_000,
        doc: {
          level: 'INFO',
          message: 'hook status',
          resourceArn: deploymentArn,
          lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
          hookStatus: 'SUCCEEDED',
          reason: 'all 1 gating checks passed',
        },
      },
    ]);
    ecs.on('DescribeServices', () => {
      const doc = fixture('ecs-describe-services-rolling');
      const service = doc.services[0];
      delete service.deploymentConfiguration.alarms;
      service.loadBalancers = [];
      service.deploymentConfiguration.strategy = 'BLUE_GREEN';
      service.deploymentConfiguration.lifecycleHooks = [
        {
          hookTargetArn: hookArn,
          roleArn: 'arn:aws:iam::123456789012:role/ecs-hooks',
          lifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'],
        },
      ];
      return { body: doc };
    });
    ecs.on('ListServiceDeployments', () => ({ body: fixture('ecs-list-service-deployments') }));
    ecs.on('DescribeServiceDeployments', () => {
      const doc = fixture('ecs-describe-service-deployments');
      Object.assign(doc.serviceDeployments[0], { status: 'SUCCESSFUL', lifecycleStage: 'CLEAN_UP' });
      return { body: doc };
    });
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const found = await run(['--cluster', 'web-cluster', '--service', 'web']);
    expect(found.code).toBe(EXIT_OK);
    expect(found.stdout).toContain(
      "hook verdicts from /aws/lambda/greenlight-prod-EcsLifecycleHook (found in the service's lifecycle hooks)",
    );
    expect(found.stdout).toContain('hook POST_TEST_TRAFFIC_SHIFT: Succeeded (all 1 gating checks passed)');

    // A log group given on the command line is the one read: nothing is looked up instead.
    const given = await run([
      '--cluster',
      'web-cluster',
      '--service',
      'web',
      '--hook-log-group',
      'other-hook',
    ]);
    expect(given.stdout).not.toContain('found in');
    expect(given.stdout).not.toContain('hook POST_TEST_TRAFFIC_SHIFT');
  });

  it('follows a deployment to completion without log groups, reading no logs', async () => {
    world = await blueGreenDeployment(moto.url, 'hooknone');
    scriptCodeDeploy(
      (poll) => ({ status: poll < 2 ? 'InProgress' : 'Succeeded' }),
      (poll, lifecycle) => {
        if (poll > 1) for (const e of lifecycle) e.status = 'Succeeded';
      },
    );

    const { code, stdout } = await run(['--deployment-id', world.deploymentId]);

    expect(code).toBe(EXIT_OK);
    expect(stdout).not.toContain('hook-verdict');
  });
});
