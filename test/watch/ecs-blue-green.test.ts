import {
  CreateRuleCommand,
  ModifyRuleCommand,
  RegisterTargetsCommand,
  type Action,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { EXIT_OK } from '../../bin/command';
import { createWatchCommand, EXIT_STALLED } from '../../bin/commands/watch';
import type { AwsJsonServer } from '../support/aws-json-server';
import { blueGreenDeployment, worldClients, type BlueGreenWorld } from '../support/aws-world';
import { MotoServer } from '../support/moto-server';
import { cliIO } from '../cli/cli-io';
import { ecsServer, fixture, useEndpoints, virtualClock } from './support/watch-world';

// ECS built-in blue/green: the service deployment's stages from a local ECS, the listener rules
// that carry the traffic shift (weights) and target health from moto's ELBv2.
const moto = new MotoServer();
let ecs: AwsJsonServer;
let restore: () => void;

beforeAll(async () => {
  await moto.start();
  ecs = ecsServer();
  await ecs.start();
});
afterAll(async () => {
  await ecs.stop();
  await moto.stop();
});
beforeEach(() => {
  ecs.reset();
  restore = useEndpoints({
    AWS_ENDPOINT_URL_ECS: ecs.url,
    AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: moto.url,
  });
});
afterEach(() => restore());

const short = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

const forward = (weights: [string, number][]): Action[] => [
  {
    Type: 'forward',
    ForwardConfig: { TargetGroups: weights.map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })) },
  },
];

/** A load balancer with blue and green target groups and the two rules ECS shifts traffic with. */
async function world(name: string) {
  const w = await blueGreenDeployment(moto.url, name);
  const elbv2 = worldClients(moto.url).elbv2;
  const rule = async (listener: string, weights: [string, number][]) =>
    (
      await elbv2.send(
        new CreateRuleCommand({
          ListenerArn: listener,
          Priority: 10,
          Conditions: [{ Field: 'path-pattern', Values: ['/*'] }],
          Actions: forward(weights),
        }),
      )
    ).Rules![0]!.RuleArn!;
  const productionRule = await rule(w.prodListenerArn, [
    [w.blueTargetGroupArn, 100],
    [w.greenTargetGroupArn, 0],
  ]);
  const testRule = await rule(w.testListenerArn, [
    [w.blueTargetGroupArn, 0],
    [w.greenTargetGroupArn, 100],
  ]);
  await elbv2.send(
    new RegisterTargetsCommand({
      TargetGroupArn: w.greenTargetGroupArn,
      Targets: [{ Id: '10.0.2.21', Port: 8080 }],
    }),
  );
  const shiftProduction = () =>
    elbv2.send(
      new ModifyRuleCommand({
        RuleArn: productionRule,
        Actions: forward([
          [w.blueTargetGroupArn, 0],
          [w.greenTargetGroupArn, 100],
        ]),
      }),
    );
  return { ...w, productionRule, testRule, shiftProduction };
}

/** DescribeServices: the service deploys with ECS blue/green over the world's rules. */
function blueGreenService(w: BlueGreenWorld & { productionRule: string; testRule: string }) {
  ecs.on('DescribeServices', () => {
    const doc = fixture('ecs-describe-services-rolling');
    const s = doc.services[0];
    delete s.deploymentConfiguration.alarms;
    s.deploymentConfiguration.strategy = 'BLUE_GREEN';
    s.loadBalancers = [
      {
        targetGroupArn: w.blueTargetGroupArn,
        containerName: 'web',
        containerPort: 8080,
        advancedConfiguration: {
          alternateTargetGroupArn: w.greenTargetGroupArn,
          productionListenerRule: w.productionRule,
          testListenerRule: w.testRule,
          roleArn: 'arn:aws:iam::123456789012:role/ecs-infrastructure',
        },
      },
    ];
    return { body: doc };
  });
  ecs.on('ListServiceDeployments', () => ({ body: fixture('ecs-list-service-deployments') }));
  ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));
}

/** DescribeServiceDeployments through `stages` (one per poll; the last repeats). */
function stages(list: [status: string, stage: string][]) {
  let poll = 0;
  ecs.on('DescribeServiceDeployments', () => {
    const [status, lifecycleStage] = list[Math.min(poll++, list.length - 1)]!;
    const doc = fixture('ecs-describe-service-deployments');
    Object.assign(doc.serviceDeployments[0], { status, lifecycleStage });
    Object.assign(doc.serviceDeployments[0].targetServiceRevision, {
      runningTaskCount: 2,
      pendingTaskCount: 0,
    });
    return { body: doc };
  });
  return () => poll;
}

async function run(args: string[], onSleep?: () => Promise<unknown>) {
  const clock = virtualClock(undefined, async () => void (await onSleep?.()));
  const { io, stdout } = cliIO();
  const code = await createWatchCommand({ clock }).run(args, io);
  return { code, stdout: stdout() };
}

const WEB = ['--cluster', 'web-cluster', '--service', 'web'];

describe('greenlight watch: ECS built-in blue/green with listener rules', () => {
  it('shows the rules’ weights move from blue to green and follows the deployment to completion', async () => {
    const w = await world('ecsbg');
    blueGreenService(w);
    const polls = stages([
      ['IN_PROGRESS', 'SCALE_UP'],
      ['IN_PROGRESS', 'TEST_TRAFFIC_SHIFT'],
      ['IN_PROGRESS', 'PRODUCTION_TRAFFIC_SHIFT'],
      ['IN_PROGRESS', 'BAKE_TIME'],
      ['SUCCESSFUL', 'CLEAN_UP'],
    ]);
    let shifted = false;

    const { code, stdout } = await run(WEB, async () => {
      if (polls() === 2 && !shifted) {
        shifted = true;
        await w.shiftProduction();
      }
    });

    expect(code).toBe(EXIT_OK);
    const [blue, green, rule] = [
      short(w.blueTargetGroupArn),
      short(w.greenTargetGroupArn),
      short(w.productionRule),
    ];
    expect(stdout).toContain(`production listener rule ${rule} forwards to ${blue} 100%, ${green} 0%`);
    expect(stdout).toContain(`production listener rule ${rule} forwards to ${blue} 0%, ${green} 100%`);
    expect(stdout).toContain(`test listener rule ${short(w.testRule)} forwards to ${blue} 0%, ${green} 100%`);
    expect(stdout).toMatch(new RegExp(`target 10\\.0\\.2\\.21:8080 in ${green}: healthy`));
    expect(stdout).toContain('service deployment r3k1TQhG5Jg9OCw2aFgGp: IN_PROGRESS at BAKE_TIME');
    expect(stdout).toMatch(/outcome\s+deployment completed\n$/);
  });

  it('names a production listener rule still forwarding to the old target group, and exits 3', async () => {
    const w = await world('ecsstuck');
    blueGreenService(w);
    stages([
      ['IN_PROGRESS', 'SCALE_UP'],
      ['IN_PROGRESS', 'TEST_TRAFFIC_SHIFT'],
      ['IN_PROGRESS', 'POST_PRODUCTION_TRAFFIC_SHIFT'],
    ]);

    const { code, stdout } = await run([...WEB, '--stall-after', '1m']);

    expect(code).toBe(EXIT_STALLED);
    expect(stdout).toContain(
      `diagnosis: listener forwards to the old target group: production listener rule ${short(w.productionRule)} forwards to ${short(w.blueTargetGroupArn)}, not to ${short(w.greenTargetGroupArn)}`,
    );
  });
});
