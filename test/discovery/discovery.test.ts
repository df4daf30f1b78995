import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDiscoveryClients, type DiscoveryClients } from '../../checks/discovery/deployment';
import { discoverTargets, resolveAutoTargets } from '../../checks/discovery/listeners';
import { AUTO_TARGET_URL } from '../../lib/auto-target';
import { createHookHandler } from '../../hooks/hook-handler';
import { captureOutput } from '../support/capture-output';
import { scriptedCheckType } from '../support/test-check-types';
import { AwsJsonServer, codeDeployServer } from '../support/aws-json-server';
import { elbv2Server, memberList } from '../support/aws-query-server';

const DEPLOYMENT_ID = 'd-GREEN0001';
const ACCOUNT = '123456789012';
const LB = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:loadbalancer/app/web-alb/50dc6c495c0c9188`;
const PROD_LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/web-alb/50dc6c495c0c9188/f2f7dc8efc522ab2`;
const TEST_LISTENER = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:listener/app/web-alb/50dc6c495c0c9188/0467ef3c8400ae65`;
const BLUE_TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/web-blue/73e2d6bc24d8a067`;
const GREEN_TG = `arn:aws:elasticloadbalancing:eu-west-1:${ACCOUNT}:targetgroup/web-green/2453ed029918f21f`;
const DNS = 'internal-web-alb-1234567890.eu-west-1.elb.amazonaws.com';

const codedeploy = codeDeployServer();
const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
const elbv2 = elbv2Server();
let clients: DiscoveryClients;

interface Scenario {
  testListenerActions?: unknown[];
  testProtocol?: string;
  testPort?: number;
  taskSets?: unknown[];
  testListener?: boolean;
}

function forward(arn: string) {
  return { Type: 'forward', Order: 1, TargetGroupArn: arn };
}

function weighted(weights: Array<[string, number]>) {
  return {
    Type: 'forward',
    Order: 1,
    ForwardConfig: { TargetGroups: weights.map(([arn, Weight]) => ({ TargetGroupArn: arn, Weight })) },
  };
}

const replacement = {
  id: 'ecs-svc/2222',
  externalId: DEPLOYMENT_ID,
  status: 'ACTIVE',
  taskDefinition: `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/web:42`,
  loadBalancers: [{ targetGroupArn: GREEN_TG, containerName: 'web', containerPort: 8080 }],
};
const original = {
  id: 'ecs-svc/1111',
  externalId: 'd-BLUE00001',
  status: 'PRIMARY',
  loadBalancers: [{ targetGroupArn: BLUE_TG, containerName: 'web', containerPort: 8080 }],
};

function script(scenario: Scenario = {}): void {
  const withTest = scenario.testListener ?? true;
  codedeploy.script('GetDeployment', {
    body: {
      deploymentInfo: {
        deploymentId: DEPLOYMENT_ID,
        applicationName: 'web-app',
        deploymentGroupName: 'web-dg',
        computePlatform: 'ECS',
        status: 'InProgress',
      },
    },
  });
  codedeploy.script('GetDeploymentGroup', {
    body: {
      deploymentGroupInfo: {
        applicationName: 'web-app',
        deploymentGroupName: 'web-dg',
        ecsServices: [{ serviceName: 'web', clusterName: 'web-cluster' }],
        loadBalancerInfo: {
          targetGroupPairInfoList: [
            {
              targetGroups: [{ name: 'web-blue' }, { name: 'web-green' }],
              prodTrafficRoute: { listenerArns: [PROD_LISTENER] },
              ...(withTest ? { testTrafficRoute: { listenerArns: [TEST_LISTENER] } } : {}),
            },
          ],
        },
      },
    },
  });
  const testActions = scenario.testListenerActions ?? [forward(GREEN_TG)];
  const listeners: Record<string, unknown> = {
    [PROD_LISTENER]: {
      ListenerArn: PROD_LISTENER,
      LoadBalancerArn: LB,
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [forward(BLUE_TG)],
    },
    [TEST_LISTENER]: {
      ListenerArn: TEST_LISTENER,
      LoadBalancerArn: LB,
      Port: scenario.testPort ?? 8080,
      Protocol: scenario.testProtocol ?? 'HTTP',
      DefaultActions: testActions,
    },
  };
  elbv2.on('DescribeListeners', ({ params }) => ({
    result: { Listeners: memberList(params, 'ListenerArns').map((arn) => listeners[arn]) },
  }));
  elbv2.on('DescribeLoadBalancers', () => ({
    result: {
      LoadBalancers: [{ LoadBalancerArn: LB, DNSName: DNS, Scheme: 'internal', Type: 'application' }],
    },
  }));
  elbv2.on('DescribeRules', ({ params }) =>
    params.ListenerArn === TEST_LISTENER
      ? {
          result: {
            Rules: [
              {
                RuleArn: `${TEST_LISTENER}/default`,
                Priority: 'default',
                IsDefault: true,
                Actions: testActions,
              },
            ],
          },
        }
      : { error: 'ListenerNotFound', message: 'One or more listeners not found' },
  );
  ecs.script('DescribeServices', {
    body: {
      services: [
        {
          serviceName: 'web',
          serviceArn: `arn:aws:ecs:eu-west-1:${ACCOUNT}:service/web-cluster/web`,
          taskSets: scenario.taskSets ?? [original, replacement],
        },
      ],
      failures: [],
    },
  });
}

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codedeploy.start();
  process.env.AWS_ENDPOINT_URL_ECS = await ecs.start();
  process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = await elbv2.start();
  clients = defaultDiscoveryClients();
});

afterAll(async () => {
  await Promise.all([codedeploy.stop(), ecs.stop(), elbv2.stop()]);
});

beforeEach(() => {
  codedeploy.reset();
  ecs.reset();
  elbv2.reset();
});

describe('discoverTargets over the wire', () => {
  it('finds both listener URLs and passes when the test listener forwards to the replacement task set', async () => {
    script();

    const discovery = await discoverTargets(DEPLOYMENT_ID, clients);

    expect(discovery.report.outcome).toBe('passed');
    expect(discovery.report.message).toBe(
      `test listener http://${DNS}:8080/ (HTTP:8080) forwards to web-green, the target group of replacement task set ecs-svc/2222 (deployment ${DEPLOYMENT_ID})`,
    );
    expect(discovery.targets.test?.href).toBe(`http://${DNS}:8080/`);
    expect(discovery.targets.prod?.href).toBe(`http://${DNS}/`);
    expect(discovery.report.assertions).toEqual([
      {
        what: 'replacement task set',
        expected: `externalId ${DEPLOYMENT_ID}`,
        actual: 'ecs-svc/2222 (ACTIVE)',
        ok: true,
      },
      { what: 'test listener forwards to', expected: 'web-green', actual: 'web-green', ok: true },
    ]);
    expect(codedeploy.callsOf('GetDeploymentGroup')[0]!.body).toEqual({
      applicationName: 'web-app',
      deploymentGroupName: 'web-dg',
    });
    expect(ecs.callsOf('DescribeServices')[0]!.body).toEqual({ cluster: 'web-cluster', services: ['web'] });
    expect(memberList(elbv2.callsOf('DescribeListeners')[0]!.params, 'ListenerArns')).toEqual([
      PROD_LISTENER,
      TEST_LISTENER,
    ]);
    expect(discovery.facts?.replacementTaskSet).toEqual({
      id: 'ecs-svc/2222',
      status: 'ACTIVE',
      targetGroupArn: GREEN_TG,
      taskDefinition: replacement.taskDefinition,
    });
  });

  it("fails with the reason when the test listener still forwards to the original task set's target group", async () => {
    script({ testListenerActions: [forward(BLUE_TG)] });

    const discovery = await discoverTargets(DEPLOYMENT_ID, clients);

    expect(discovery.report.outcome).toBe('failed');
    expect(discovery.report.message).toBe(
      `test listener http://${DNS}:8080/ (HTTP:8080) forwards to web-blue, expected web-green, the target group of replacement task set ecs-svc/2222 (deployment ${DEPLOYMENT_ID})`,
    );
    expect(discovery.report.assertions?.[1]).toEqual({
      what: 'test listener forwards to',
      expected: 'web-green',
      actual: 'web-blue',
      ok: false,
    });
  });

  it.each([
    {
      name: 'all weight on green',
      weights: [
        [GREEN_TG, 100],
        [BLUE_TG, 0],
      ],
      outcome: 'passed',
      actual: 'web-green',
    },
    {
      name: 'all weight on blue',
      weights: [
        [GREEN_TG, 0],
        [BLUE_TG, 100],
      ],
      outcome: 'failed',
      actual: 'web-blue',
    },
    {
      name: 'weight split between both',
      weights: [
        [GREEN_TG, 50],
        [BLUE_TG, 50],
      ],
      outcome: 'failed',
      actual: 'web-green, web-blue',
    },
  ] as Array<{ name: string; weights: Array<[string, number]>; outcome: string; actual: string }>)(
    'judges a weighted forward with $name as $outcome',
    async ({ weights, outcome, actual }) => {
      script({ testListenerActions: [weighted(weights)] });

      const discovery = await discoverTargets(DEPLOYMENT_ID, clients);

      expect(discovery.report.outcome).toBe(outcome);
      expect(discovery.report.assertions?.[1]?.actual).toBe(actual);
    },
  );

  it('gives an https URL without a port for an HTTPS listener on 443', async () => {
    script({ testProtocol: 'HTTPS', testPort: 443 });

    const discovery = await discoverTargets(DEPLOYMENT_ID, clients);

    expect(discovery.targets.test?.href).toBe(`https://${DNS}/`);
  });

  it('errors, listing the task sets, when no task set belongs to the deployment', async () => {
    script({ taskSets: [original] });

    const discovery = await discoverTargets(DEPLOYMENT_ID, clients);

    expect(discovery.report.outcome).toBe('error');
    expect(discovery.report.message).toBe(
      `service web in cluster web-cluster has no task set with externalId ${DEPLOYMENT_ID}; task sets: ecs-svc/1111 (PRIMARY, externalId d-BLUE00001)`,
    );
  });

  it('errors when the deployment group has no test listener to tell green from production', async () => {
    script({ testListener: false });

    const discovery = await discoverTargets(DEPLOYMENT_ID, clients);

    expect(discovery.report.outcome).toBe('error');
    expect(discovery.report.message).toBe(
      `discovery of deployment ${DEPLOYMENT_ID}: deployment group web-app/web-dg has no test listener, so green cannot be tested apart from production; add a test listener or set targets.test to a URL`,
    );
  });

  it('errors naming the AWS error when the deployment does not exist', async () => {
    codedeploy.script('GetDeployment', {
      error: 'DeploymentDoesNotExistException',
      message: `The deployment ${DEPLOYMENT_ID} could not be found.`,
    });

    const discovery = await discoverTargets(DEPLOYMENT_ID, clients);

    expect(discovery.report).toEqual({
      outcome: 'error',
      message: `discovery of deployment ${DEPLOYMENT_ID}: CodeDeploy GetDeployment ${DEPLOYMENT_ID} failed: DeploymentDoesNotExistException: The deployment ${DEPLOYMENT_ID} could not be found.`,
    });
  });

  it('errors naming the ELBv2 error code from the XML reply', async () => {
    script();
    elbv2.on('DescribeListeners', () => ({
      error: 'AccessDenied',
      message: 'User is not authorized to perform: elasticloadbalancing:DescribeListeners',
      status: 403,
    }));

    const discovery = await discoverTargets(DEPLOYMENT_ID, clients);

    expect(discovery.report.outcome).toBe('error');
    expect(discovery.report.message).toContain('ELBv2 DescribeListeners');
    expect(discovery.report.message).toContain(
      'AccessDenied: User is not authorized to perform: elasticloadbalancing:DescribeListeners',
    );
  });

  it('stops promptly with an error when its signal fires while CodeDeploy does not answer', async () => {
    codedeploy.script('GetDeployment', { hang: true });
    const started = Date.now();

    const discovery = await discoverTargets(DEPLOYMENT_ID, clients, { signal: AbortSignal.timeout(200) });

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(discovery.report.outcome).toBe('error');
    expect(discovery.report.message).toMatch(
      /^discovery of deployment d-GREEN0001: CodeDeploy GetDeployment d-GREEN0001 failed: .*\(stopped: /,
    );
  });
});

describe('resolveAutoTargets', () => {
  const auto = {
    test: new URL(AUTO_TARGET_URL),
    prod: new URL(AUTO_TARGET_URL),
    admin: new URL('http://admin.internal:9000/'),
  };

  it('replaces auto targets with the discovered URLs and keeps the others', async () => {
    script();

    const { targets, discovery } = await resolveAutoTargets(
      auto,
      { deploymentId: DEPLOYMENT_ID, lifecycleEvent: 'AfterAllowTestTraffic' },
      clients,
    );

    expect(discovery?.report.outcome).toBe('passed');
    expect(Object.fromEntries(Object.entries(targets).map(([k, v]) => [k, v.href]))).toEqual({
      test: `http://${DNS}:8080/`,
      prod: `http://${DNS}/`,
      admin: 'http://admin.internal:9000/',
    });
  });

  it('does not verify the test listener before the test traffic is shifted', async () => {
    script({ testListenerActions: [forward(BLUE_TG)], taskSets: [original] });

    const { discovery } = await resolveAutoTargets(
      auto,
      { deploymentId: DEPLOYMENT_ID, lifecycleEvent: 'BeforeInstall' },
      clients,
    );

    expect(discovery?.report.outcome).toBe('passed');
    expect(elbv2.callsOf('DescribeRules')).toHaveLength(0);
    expect(ecs.callsOf('DescribeServices')).toHaveLength(0);
  });

  it('makes no AWS call when no target is auto', async () => {
    const explicit = { test: new URL('http://green.internal:8080/') };

    const resolved = await resolveAutoTargets(
      explicit,
      { deploymentId: DEPLOYMENT_ID, lifecycleEvent: 'AfterAllowTestTraffic' },
      clients,
    );

    expect(resolved.discovery).toBeUndefined();
    expect(resolved.targets.test?.href).toBe('http://green.internal:8080/');
    expect(codedeploy.calls).toHaveLength(0);
  });
});

describe('a hook with auto targets', () => {
  it('logs why discovery failed under reason, where the log line keeps it', async () => {
    script({ testListenerActions: [forward(BLUE_TG)] });
    codedeploy.on('PutLifecycleEventHookExecutionStatus', () => ({ body: {} }));
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-discovery-'));
    const configPath = join(dir, 'greenlight.yml');
    writeFileSync(
      configPath,
      'targets: { test: auto }\nchecks: { smoke: { type: scripted, behaviour: pass } }\nhooks: { AfterAllowTestTraffic: [smoke] }\n',
    );
    const hook = createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath,
      discovery: clients,
      metrics: false,
    });
    const output = captureOutput();
    try {
      const outcome = await hook(
        { DeploymentId: DEPLOYMENT_ID, LifecycleEventHookExecutionId: 'exec-1' },
        { getRemainingTimeInMillis: () => 30_000 },
      );

      expect(outcome.status).toBe('Failed');
      const line = output.lines().find((l) => l.message === 'discovered targets');
      expect(line).toMatchObject({
        outcome: 'failed',
        reason: expect.stringContaining('forwards to web-blue, expected web-green'),
      });
      expect(output.text()).not.toContain('reserved key');
    } finally {
      output.restore();
      delete process.env.POWERTOOLS_LOG_LEVEL;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
