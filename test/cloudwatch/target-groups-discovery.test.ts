import { targetGroupsCheckType } from '../../checks/target-groups';
import { AwsJsonServer, cloudWatchServer, codeDeployServer } from '../support/aws-json-server';
import { elbv2Server, memberList } from '../support/aws-query-server';
import { checkFrom, configErrorOf, contextFor } from './cloudwatch-test-kit';
import { recent, serveMetricData, type Points } from './metric-store';

const DEPLOYMENT_ID = 'd-TGDISC001';
const ARN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012';
const LB = 'app/web-alb/50dc6c495c0c9188';
const TG1 = 'targetgroup/web-tg-1/9ea1e3c9b02a8f7b';
const TG2 = 'targetgroup/web-tg-2/6d0ecf831eec9f09';
const PROD_LISTENER = `${ARN}:listener/${LB}/f2f7dc8efc522ab2`;
const TEST_LISTENER = `${ARN}:listener/${LB}/0467ef3c8400ae65`;

const cloudWatch = cloudWatchServer();
const codedeploy = codeDeployServer();
const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
const elbv2 = elbv2Server();
const servers = [cloudWatch, codedeploy, ecs, elbv2];

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = await cloudWatch.start();
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codedeploy.start();
  process.env.AWS_ENDPOINT_URL_ECS = await ecs.start();
  process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = await elbv2.start();
});
afterAll(() => Promise.all(servers.map((s) => s.stop())));
beforeEach(() => servers.forEach((s) => s.reset()));

function taskSet(id: string, externalId: string, status: string, tg?: string) {
  return {
    id,
    externalId,
    status,
    loadBalancers: tg ? [{ targetGroupArn: `${ARN}:${tg}`, containerName: 'web', containerPort: 8080 }] : [],
  };
}

const original = (tg = TG1) => taskSet('ecs-svc/1111', 'd-OLDDEPLOY', 'PRIMARY', tg);
const replacement = (tg = TG2) => taskSet('ecs-svc/2222', DEPLOYMENT_ID, 'ACTIVE', tg);

/** A CodeDeploy ECS deployment: its group, its ALB listeners and its service's task sets. */
function deployment(options: { taskSets?: unknown[]; loadBalancerArn?: string } = {}): void {
  const loadBalancerArn = options.loadBalancerArn ?? `${ARN}:loadbalancer/${LB}`;
  codedeploy.script('GetDeployment', {
    body: {
      deploymentInfo: {
        deploymentId: DEPLOYMENT_ID,
        applicationName: 'web-app',
        deploymentGroupName: 'web-dg',
        computePlatform: 'ECS',
      },
    },
  });
  codedeploy.script('GetDeploymentGroup', {
    body: {
      deploymentGroupInfo: {
        ecsServices: [{ serviceName: 'web', clusterName: 'web-cluster' }],
        loadBalancerInfo: {
          targetGroupPairInfoList: [
            {
              targetGroups: [{ name: 'web-tg-1' }, { name: 'web-tg-2' }],
              prodTrafficRoute: { listenerArns: [PROD_LISTENER] },
              testTrafficRoute: { listenerArns: [TEST_LISTENER] },
            },
          ],
        },
      },
    },
  });
  elbv2.on('DescribeListeners', ({ params }) => ({
    result: {
      Listeners: memberList(params, 'ListenerArns').map((arn) => ({
        ListenerArn: arn,
        LoadBalancerArn: loadBalancerArn,
        Port: 80,
        Protocol: 'HTTP',
      })),
    },
  }));
  elbv2.on('DescribeLoadBalancers', () => ({
    result: {
      LoadBalancers: [
        {
          LoadBalancerArn: loadBalancerArn,
          DNSName: 'web-alb.eu-west-1.elb.amazonaws.com',
          Type: 'application',
        },
      ],
    },
  }));
  ecs.script('DescribeServices', {
    body: {
      services: [{ serviceName: 'web', taskSets: options.taskSets ?? [original(), replacement()] }],
      failures: [],
    },
  });
}

/** AWS/ApplicationELB figures per target group: [requests, 5xx]; latency equal on both. */
function traffic(byTargetGroup: Record<string, [number, number]>): void {
  const table: Record<string, Points> = {};
  for (const [tg, [requests, errors]] of Object.entries(byTargetGroup)) {
    const key = (metric: string, stat: string) => `${metric}|${stat}|LoadBalancer=${LB},TargetGroup=${tg}`;
    table[key('RequestCount', 'Sum')] = recent(requests);
    table[key('HTTPCode_Target_5XX_Count', 'Sum')] = recent(errors);
    table[key('TargetResponseTime', 'p95')] = recent(0.12);
    table[key('TargetResponseTime', 'p99')] = recent(0.3);
  }
  serveMetricData(cloudWatch, table);
}

const discover = { discover: true, tolerance: 0.2 };
const hook = { deploymentId: DEPLOYMENT_ID };

describe('target-groups check with discover: true', () => {
  it.each([
    {
      replacementOn: TG2,
      originalOn: TG1,
      outcome: 'failed',
      message:
        "green's 5xx ratio is above blue's by more than the tolerance: green 5% (50/1000) vs blue 0.5% (5/1000), allowed up to 0.6% (over the last 300 s, tolerance 20%)",
    },
    {
      replacementOn: TG1,
      originalOn: TG2,
      outcome: 'passed',
      message: `green ${TG1} within 20% of blue ${TG2} over the last 300 s: 5xx ratio green 0.5% (5/1000) vs blue 5% (50/1000), p95 green 120 ms vs blue 120 ms, p99 green 300 ms vs blue 300 ms`,
    },
  ])(
    'takes green from the replacement task set ($replacementOn) and judges it $outcome against the other target group',
    async ({ replacementOn, originalOn, outcome, message }) => {
      deployment({ taskSets: [original(originalOn), replacement(replacementOn)] });
      traffic({ [TG2]: [1000, 50], [TG1]: [1000, 5] });

      const report = await checkFrom(targetGroupsCheckType, discover).run(contextFor(hook));

      expect(report.outcome).toBe(outcome);
      expect(report.message).toBe(message);
      expect(report.details).toMatchObject({
        loadBalancer: LB,
        green: replacementOn,
        blue: originalOn,
        discovered: {
          deploymentId: DEPLOYMENT_ID,
          deploymentGroup: 'web-app/web-dg',
          service: 'web-cluster/web',
          greenTaskSet: 'ecs-svc/2222',
          blueTaskSet: 'ecs-svc/1111',
        },
      });
      const queries = cloudWatch.callsOf('GetMetricData')[0]!.body.MetricDataQueries as Array<{
        Id: string;
        MetricStat: { Metric: { Dimensions: unknown } };
      }>;
      expect(queries.find((q) => q.Id === 'g_req')!.MetricStat.Metric.Dimensions).toEqual([
        { Name: 'LoadBalancer', Value: LB },
        { Name: 'TargetGroup', Value: replacementOn },
      ]);
    },
  );

  it('reads only the production listener and never the listener rules', async () => {
    deployment();
    traffic({ [TG2]: [1000, 0], [TG1]: [1000, 0] });

    await checkFrom(targetGroupsCheckType, discover).run(contextFor(hook));

    expect(codedeploy.callsOf('GetDeployment')[0]!.body).toEqual({ deploymentId: DEPLOYMENT_ID });
    expect(ecs.callsOf('DescribeServices')[0]!.body).toEqual({ cluster: 'web-cluster', services: ['web'] });
    expect(memberList(elbv2.callsOf('DescribeListeners')[0]!.params, 'ListenerArns')).toEqual([
      PROD_LISTENER,
    ]);
    expect(elbv2.callsOf('DescribeRules')).toHaveLength(0);
  });

  it('is an error listing the task sets when none belongs to the deployment, and reads no metrics', async () => {
    deployment({ taskSets: [original()] });

    const report = await checkFrom(targetGroupsCheckType, discover).run(contextFor(hook));

    expect(report.outcome).toBe('error');
    expect(report.message).toBe(
      `could not tell which target group is green: discovery of deployment ${DEPLOYMENT_ID}: service web in cluster web-cluster has no task set with externalId ${DEPLOYMENT_ID} (the replacement); task sets: ecs-svc/1111 (PRIMARY, externalId d-OLDDEPLOY, target group web-tg-1)`,
    );
    expect(cloudWatch.callsOf('GetMetricData')).toHaveLength(0);
  });

  it('is an error when no other task set serves the other target group of the pair', async () => {
    deployment({ taskSets: [replacement(), taskSet('ecs-svc/3333', 'd-STALE0001', 'DRAINING')] });

    const report = await checkFrom(targetGroupsCheckType, discover).run(contextFor(hook));

    expect(report.outcome).toBe('error');
    expect(report.message).toBe(
      `could not tell which target group is green: discovery of deployment ${DEPLOYMENT_ID}: service web in cluster web-cluster has no task set besides the replacement ecs-svc/2222 serving web-tg-1, so blue cannot be told; task sets: ecs-svc/2222 (ACTIVE, externalId ${DEPLOYMENT_ID}, target group web-tg-2), ecs-svc/3333 (DRAINING, externalId d-STALE0001, target group none)`,
    );
  });

  it('is an error when the production listener is not on an Application Load Balancer', async () => {
    deployment({ loadBalancerArn: `${ARN}:loadbalancer/net/web-nlb/50dc6c495c0c9188` });

    const report = await checkFrom(targetGroupsCheckType, discover).run(contextFor(hook));

    expect(report.outcome).toBe('error');
    expect(report.message).toBe(
      `the production listener of deployment ${DEPLOYMENT_ID} is on ${ARN}:loadbalancer/net/web-nlb/50dc6c495c0c9188, not an Application Load Balancer; target-groups compares ALB metrics`,
    );
  });

  it.each([
    ['CodeDeploy GetDeployment', 'codedeploy:GetDeployment', () => deny(codedeploy, 'GetDeployment')],
    [
      'CodeDeploy GetDeploymentGroup',
      'codedeploy:GetDeploymentGroup',
      () => deny(codedeploy, 'GetDeploymentGroup'),
    ],
    ['ECS DescribeServices', 'ecs:DescribeServices', () => deny(ecs, 'DescribeServices')],
    [
      'ELBv2 DescribeListeners',
      'elasticloadbalancing:DescribeListeners',
      () => elbv2.on('DescribeListeners', deniedQuery('elasticloadbalancing:DescribeListeners')),
    ],
    [
      'ELBv2 DescribeLoadBalancers',
      'elasticloadbalancing:DescribeLoadBalancers',
      () => elbv2.on('DescribeLoadBalancers', deniedQuery('elasticloadbalancing:DescribeLoadBalancers')),
    ],
  ])('is an error naming %s and %s when that call is denied', async (call, permission, denyIt) => {
    deployment();
    denyIt();

    const report = await checkFrom(targetGroupsCheckType, discover).run(contextFor(hook));

    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      new RegExp(
        `^could not tell which target group is green: discovery of deployment ${DEPLOYMENT_ID}: ${call} .+? was denied \\(AccessDenied(Exception)?\\): the role needs ${permission}; AWS said: `,
      ),
    );
    expect(cloudWatch.callsOf('GetMetricData')).toHaveLength(0);
  });

  it.each([
    [
      'no deployment id (the CLI)',
      { lifecycleEvent: 'AfterAllowTestTraffic' },
      'discover: true reads the target groups from a CodeDeploy deployment, and there is none here (no deployment id: not run from a CodeDeploy hook); set loadBalancer, green and blue instead of discover: true',
    ],
    [
      'an ECS built-in blue/green hook',
      { lifecycleEvent: 'POST_TEST_TRAFFIC_SHIFT', deploymentId: 'hook-execution-1' },
      'discover: true reads the target groups from a CodeDeploy deployment, and POST_TEST_TRAFFIC_SHIFT is not a CodeDeploy lifecycle event (an ECS built-in blue/green hook has no CodeDeploy deployment); set loadBalancer, green and blue instead of discover: true',
    ],
    [
      'BeforeInstall, before the replacement task set exists',
      { lifecycleEvent: 'BeforeInstall', deploymentId: DEPLOYMENT_ID },
      `discover: true cannot tell green at BeforeInstall: CodeDeploy creates the replacement task set of deployment ${DEPLOYMENT_ID} after this event; run the check at AfterInstall or later`,
    ],
  ])('is an error without any AWS call with %s', async (_, deploymentInfo, message) => {
    const report = await checkFrom(targetGroupsCheckType, discover).run(
      contextFor({ deployment: deploymentInfo }),
    );

    expect(report).toEqual({ outcome: 'error', message });
    expect(servers.map((s) => s.calls.length)).toEqual([0, 0, 0, 0]);
  });

  it('stops at the check deadline with an error naming the call CodeDeploy never answered', async () => {
    codedeploy.script('GetDeployment', { hang: true });
    const started = Date.now();

    const report = await checkFrom(targetGroupsCheckType, discover).run(
      contextFor({ ...hook, deadline: Date.now() + 300 }),
    );

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /^could not tell which target group is green: discovery of deployment d-TGDISC001: CodeDeploy GetDeployment d-TGDISC001 failed: .*\(stopped: /,
    );
  });

  describe('options', () => {
    it.each([
      [
        'discover with a target group given too',
        { discover: true, green: TG2 },
        /checks\.cw\.green: remove green: with discover: true the load balancer and both target groups come from the deployment/,
      ],
      [
        'discover as a string',
        { discover: 'yes' },
        /checks\.cw\.discover: expected true or false, got "yes"/,
      ],
      [
        'neither discover nor the target groups',
        {},
        /checks\.cw\.loadBalancer: missing loadBalancer, green, blue: set discover: true to read them from the deployment, or set loadBalancer, green and blue/,
      ],
    ])('rejects %s when the config loads', (_, options, error) => {
      expect(configErrorOf(targetGroupsCheckType, options)).toMatch(error);
    });
  });
});

function deny(server: AwsJsonServer, operation: string): void {
  server.script(operation, {
    error: 'AccessDeniedException',
    message: `User: arn:aws:sts::123456789012:assumed-role/hook/fn is not authorized to perform: ${operation}`,
  });
}

function deniedQuery(action: string) {
  return () => ({
    error: 'AccessDenied',
    message: `User is not authorized to perform: ${action}`,
    status: 403,
  });
}
