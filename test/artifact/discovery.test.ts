import { randomBytes } from 'node:crypto';
import { CodeDeployOverMoto } from '../support/codedeploy-over-moto';
import { MotoServer } from '../support/moto-server';
import {
  blueGreenDeployment,
  datapoints,
  forwardTestListener,
  type BlueGreenWorld,
} from '../support/aws-world';
import { invoke, packageStack, verdicts, type PackagedStack } from './artifact-kit';

// `targets: auto` and `target-groups` with `discover: true`, from the packaged zips: the hook finds
// the deployment in moto (GetDeployment, GetDeploymentGroup, ECS DescribeServices with task sets,
// ELBv2 listeners and rules), checks that the test listener forwards to the replacement task set's
// target group, and compares green's target group with blue's from CloudWatch metrics.
jest.setTimeout(300_000);

const run = randomBytes(3).toString('hex');
const moto = new MotoServer();
const codedeploy = new CodeDeployOverMoto(() => moto.url);
let stack: PackagedStack;
let world: BlueGreenWorld;

beforeAll(async () => {
  await Promise.all([moto.start(), codedeploy.start()]);
  world = await blueGreenDeployment(moto.url, `disc${run}`);
  stack = await packageStack(`targets:
  test: auto
  prod: auto
checks:
  green-vs-blue:
    type: target-groups
    discover: true
    compare: [errorRate]
    minRequests: 50
    windowSeconds: 900
hooks:
  AfterAllowTestTraffic: [green-vs-blue]
  AfterAllowTraffic: [green-vs-blue]
`);
});

afterAll(async () => {
  await Promise.all([moto.stop(), codedeploy.stop()]);
  stack?.remove();
});

/** Requests and 5xx answers of one target group, a minute apart. */
async function traffic(targetGroup: string, requests: number[], errors: number[]) {
  const dimensions = { LoadBalancer: world.loadBalancerDimension, TargetGroup: targetGroup };
  await datapoints(moto.url, { namespace: 'AWS/ApplicationELB', name: 'RequestCount', dimensions }, requests);
  await datapoints(
    moto.url,
    { namespace: 'AWS/ApplicationELB', name: 'HTTPCode_Target_5XX_Count', dimensions },
    errors,
  );
}

let executions = 0;
async function hook(key: string) {
  const executionId = `exec-${run}-${++executions}`;
  const result = await invoke(
    stack.functions.get(key)!,
    [{ DeploymentId: world.deploymentId, LifecycleEventHookExecutionId: executionId }],
    { timeoutS: 60, env: { AWS_ENDPOINT_URL: moto.url, AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.server.url } },
  );
  expect(result.records).toHaveLength(1);
  return { ...result, executionId, verdict: verdicts(result)[0] };
}

describe('discovery from the packaged hooks', () => {
  it('passes when green’s 5xx ratio matches blue’s, having found both target groups', async () => {
    await traffic(world.blueDimension, [100, 100], [1, 0]);
    await traffic(world.greenDimension, [100, 100], [0, 1]);

    const result = await hook('afterAllowTestTraffic');

    expect(codedeploy.reportsOf(result.executionId)).toEqual(['Succeeded']);
    const check = result.logs.find((l) => l.message === 'check result')?.check as { message: string };
    expect(check.message).toContain(world.greenDimension.split('/')[1]);
  });

  it('fails when green answers far more 5xx than blue', async () => {
    await traffic(world.greenDimension, [100], [40]);

    const result = await hook('afterAllowTraffic');

    expect(codedeploy.reportsOf(result.executionId)).toEqual(['Failed']);
    expect(result.verdict?.reason).toMatch(/green's 5xx ratio is above blue's/);
  });

  it('fails before any check when the test listener does not forward to the replacement task set', async () => {
    await forwardTestListener(moto.url, world, world.blueTargetGroupArn);
    try {
      const result = await hook('afterAllowTestTraffic');

      expect(codedeploy.reportsOf(result.executionId)).toEqual(['Failed']);
      expect(result.verdict?.reason).toContain(world.blueDimension.split('/')[1]);
    } finally {
      await forwardTestListener(moto.url, world, world.greenTargetGroupArn);
    }
  });
});
