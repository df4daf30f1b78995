// A failed http check at AfterAllowTestTraffic: the hook adds what green's tasks show to its reason.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import {
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { createHookHandler } from '../../hooks/hook-handler';
import { wantsGreenDiagnosis } from '../../hooks/wants-green-diagnosis';
import { silentLogger } from '../../lib/log';
import { forwardCall, type AwsJsonServer } from '../support/aws-json-server';
import { blueGreenDeployment, REGION, worldClients, type BlueGreenWorld } from '../support/aws-world';
import { CodeDeployOverMoto } from '../support/codedeploy-over-moto';
import { freePort } from '../support/http-servers';
import { MotoServer } from '../support/moto-server';
import { ecsServer, fixture } from '../watch/support/watch-world';
import type { Verdict } from '../../checks/runner';

const moto = new MotoServer();
const codedeploy = new CodeDeployOverMoto(() => moto.url);
let ecs: AwsJsonServer;
let world: BlueGreenWorld;
let greenTaskSetId: string;
let greenTaskDefinition: string;
const dir = mkdtempSync(join(tmpdir(), 'greenlight-green-'));
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

beforeAll(async () => {
  await moto.start();
  await codedeploy.start();
  ecs = ecsServer();
  await ecs.start();
  world = await blueGreenDeployment(moto.url, 'greendiag');
  await worldClients(moto.url).elbv2.send(
    new RegisterTargetsCommand({
      TargetGroupArn: world.greenTargetGroupArn,
      Targets: [{ Id: '10.0.2.21', Port: 8080 }],
    }),
  );
  ecs.on('DescribeServices', async (call) => {
    const reply = await forwardCall(moto.url, call);
    type Set = { id: string; externalId: string; taskDefinition: string };
    const sets = (reply as { body: { services: { taskSets: Set[] }[] } }).body.services[0]!.taskSets;
    const green = sets.find((s) => s.externalId === world.deploymentId)!;
    greenTaskSetId = green.id;
    greenTaskDefinition = green.taskDefinition;
    return reply;
  });
});
afterAll(async () => {
  await ecs.stop();
  await codedeploy.stop();
  await moto.stop();
  rmSync(dir, { recursive: true, force: true });
});

function clients() {
  return {
    codedeploy: new CodeDeployClient({ endpoint: codedeploy.server.url, region: REGION, credentials }),
    ecs: new ECSClient({ endpoint: ecs.url, region: REGION, credentials, maxAttempts: 1 }),
    elbv2: new ElasticLoadBalancingV2Client({ endpoint: moto.url, region: REGION, credentials }),
  };
}

let n = 0;
/** The hook for `event` with one http check against a port nobody listens on. */
async function unreachableGreen(
  event: 'AfterAllowTestTraffic' | 'BeforeAllowTraffic' = 'AfterAllowTestTraffic',
) {
  const port = await freePort();
  const path = join(dir, `greenlight-${++n}.yml`);
  writeFileSync(
    path,
    `targets: { test: "http://127.0.0.1:${port}" }\n` +
      `checks:\n  smoke: { type: http, requests: [{ path: /health }], timeoutMs: 1000 }\n` +
      `hooks:\n  ${event}: [smoke]\nrunner: { reportReserveMs: 1000 }\n`,
  );
  const hook = createHookHandler(event, {
    configPath: path,
    log: silentLogger,
    metrics: false,
    codedeploy: clients().codedeploy,
    discovery: clients(),
  });
  return hook(
    { DeploymentId: world.deploymentId, LifecycleEventHookExecutionId: `green-${n}==` },
    { getRemainingTimeInMillis: () => 30_000, awsRequestId: `req-${n}` },
  );
}

describe('a failed verdict with the diagnosis of green’s tasks', () => {
  it('names the crashing essential container of the replacement task set when green cannot be reached', async () => {
    const stopped = fixture('ecs-describe-tasks-stopped');
    const other = structuredClone(stopped.tasks[0]);
    Object.assign(other, { taskArn: `${other.taskArn}-blue`, stopCode: 'UserInitiated' });
    // Green's crashed task, and one of another task definition (not green's) that stopped later.
    stopped.tasks[0].taskDefinitionArn = greenTaskDefinition;
    other.containers[0].exitCode = 137;
    other.stoppedAt += 60;
    stopped.tasks.push(other);
    ecs.on('ListTasks', () => ({
      body: { taskArns: stopped.tasks.map((t: { taskArn: string }) => t.taskArn) },
    }));
    ecs.on('DescribeTasks', () => ({ body: stopped }));

    const outcome = await unreachableGreen();

    expect(outcome.status).toBe('Failed');
    expect(outcome.reason).toMatch(/^'smoke' error: GET http:\/\/127\.0\.0\.1:\d+\/health .*ECONNREFUSED/);
    expect(outcome.reason).toContain(
      "; green's tasks: essential container exited: task 4f1c3b9e2a7d4c0f8e6b5a4d3c2b1a09: essential container web exited with code 1",
    );
    // The tasks asked for are those the replacement task set started, stopped.
    expect(ecs.callsOf('ListTasks').at(-1)!.body).toMatchObject({
      cluster: 'greendiag-cluster',
      desiredStatus: 'STOPPED',
      startedBy: greenTaskSetId,
    });
  });

  it('says what green’s targets show when no stopped task explains it', async () => {
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const outcome = await unreachableGreen();

    expect(outcome.reason).toContain(
      "; green's tasks: no stopped task with a known cause (0 stopped); targets: 1 healthy",
    );
  });

  it('says which permission would give the diagnosis when ECS denies it', async () => {
    ecs.on('ListTasks', () => ({
      error: 'AccessDeniedException',
      message:
        'User: arn:aws:sts::123456789012:assumed-role/hook/fn is not authorized to perform: ecs:ListTasks',
    }));

    const outcome = await unreachableGreen();

    expect(outcome.status).toBe('Failed');
    expect(outcome.reason).toContain(
      "diagnosis of green's tasks not available: the role needs ecs:ListTasks",
    );
    // What could be read still counts: the target health.
    expect(outcome.reason).toContain('targets: 1 healthy');
  });

  it('leaves the verdict alone at an event where green takes no test traffic', async () => {
    const before = ecs.callsOf('ListTasks').length;
    const outcome = await unreachableGreen('BeforeAllowTraffic');
    expect(outcome.status).toBe('Failed');
    expect(outcome.reason).not.toContain("green's tasks");
    expect(ecs.callsOf('ListTasks').length).toBe(before);
  });

  it('diagnoses only failed verdicts of http checks', () => {
    const verdict = (type: string, outcome: 'failed' | 'passed'): Verdict =>
      ({
        status: outcome === 'failed' ? 'Failed' : 'Succeeded',
        checks: [{ name: 'c', type, outcome }],
      }) as unknown as Verdict;
    expect(wantsGreenDiagnosis('AfterInstall', verdict('http', 'failed'))).toBe(true);
    expect(wantsGreenDiagnosis('AfterInstall', verdict('alarms', 'failed'))).toBe(false);
    expect(wantsGreenDiagnosis('AfterAllowTestTraffic', verdict('http', 'passed'))).toBe(false);
  });
});
