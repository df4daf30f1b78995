// The platform stack's params and role, computed offline (deploy/platform-stack.js); the packaged
// template is asserted by test/artifact/platform.test.ts.
type Settings = Record<string, unknown>;
interface PlatformStack {
  platformSettings(params: Record<string, string>): { problems: string[]; settings: Settings };
  platformIamStatements(
    settings: Settings,
    options?: { kmsKeyArn?: string; notifyDefaults?: { snsTopics: string[]; eventBuses: string[] } },
  ): unknown[];
  platformEnvironment(settings: Settings): Record<string, string>;
  stackMode(value?: string): string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stack = require('../../deploy/platform-stack.js') as PlatformStack;
const { platformEnvironment, platformIamStatements, platformSettings, stackMode } = stack;

const PARAMS = {
  configLocation: 's3://acme-greenlight/greenlight/{application}/{deploymentGroup}.yml',
  deploymentGroups: 'web-app/web-prod, billing-app/billing-prod',
  ecsServices: 'shop/cart',
  allowedHosts: '*.internal.acme.example,10.20.0.15',
};

type Statement = { Action: string[]; Resource: unknown; Condition?: unknown };
const sub = (resource: unknown) => JSON.stringify(resource);

function statementsFor(params: Record<string, string>, kmsKeyArn?: string): Statement[] {
  const { problems, settings } = platformSettings(params);
  expect(problems).toEqual([]);
  return platformIamStatements(settings, { kmsKeyArn }) as Statement[];
}

function grant(statements: Statement[], action: string): Statement {
  const found = statements.find((s) => s.Action.includes(action));
  if (!found) throw new Error(`no statement grants ${action}`);
  return found;
}

describe('platform stack', () => {
  it('scopes reporting and deployment reads to the listed deployment groups', () => {
    const report = grant(statementsFor(PARAMS), 'codedeploy:PutLifecycleEventHookExecutionStatus');
    expect(report.Action).toEqual([
      'codedeploy:GetDeployment',
      'codedeploy:GetDeploymentGroup',
      'codedeploy:PutLifecycleEventHookExecutionStatus',
    ]);
    expect(sub(report.Resource)).toContain('deploymentgroup:web-app/web-prod');
    expect(sub(report.Resource)).toContain('deploymentgroup:billing-app/billing-prod');
    expect((report.Resource as unknown[]).length).toBe(2);
  });

  it('reads configs only under the template’s prefix, and each tenant’s own secrets', () => {
    const statements = statementsFor(PARAMS);
    expect(sub(grant(statements, 's3:GetObject').Resource)).toContain(
      's3:::acme-greenlight/greenlight/*/*.yml',
    );
    expect(grant(statements, 's3:ListBucket').Condition).toEqual({
      StringLike: { 's3:prefix': ['greenlight/*/*.yml'] },
    });
    const secrets = sub(grant(statements, 'secretsmanager:GetSecretValue').Resource);
    for (const prefix of ['greenlight/web-app/', 'greenlight/billing-app/', 'greenlight/cart/'])
      expect(secrets).toContain(`secret:${prefix}*`);
    const parameters = sub(grant(statements, 'ssm:GetParameter').Resource);
    expect(parameters).toContain('parameter/greenlight/web-app/*');
    expect(parameters).toContain('parameter/greenlight-break-glass/*');
    expect(statements.flatMap((s) => s.Action)).not.toContain('ssm:PutParameter');
  });

  it('grants DescribeServiceDeployments on the listed services and their service deployments', () => {
    const grantFor = grant(statementsFor(PARAMS), 'ecs:DescribeServiceDeployments');
    expect(sub(grantFor.Resource)).toContain('service/shop/cart');
    expect(sub(grantFor.Resource)).toContain('service-deployment/shop/cart/*');
  });

  it('grants the diagnosis of green’s tasks: in the listed services’ clusters only, unless a deployment group names its own', () => {
    const servicesOnly = statementsFor({
      ...PARAMS,
      deploymentGroups: '',
      ecsServices: 'shop/cart, shop/web, ops/api',
    });
    const tasks = grant(servicesOnly, 'ecs:ListTasks');
    expect(tasks.Action).toEqual(['ecs:ListTasks', 'ecs:DescribeTasks']);
    expect((tasks.Resource as unknown[]).map(sub)).toEqual(
      ['container-instance/shop/*', 'task/shop/*', 'container-instance/ops/*', 'task/ops/*'].map((r) =>
        sub({ 'Fn::Sub': `arn:\${AWS::Partition}:ecs:\${AWS::Region}:\${AWS::AccountId}:${r}` }),
      ),
    );
    const revisions = sub(grant(servicesOnly, 'ecs:DescribeServiceRevisions').Resource);
    for (const s of ['shop/cart', 'shop/web', 'ops/api'])
      expect(revisions).toContain(`service-revision/${s}/*`);
    expect(grant(servicesOnly, 'elasticloadbalancing:DescribeTargetHealth').Resource).toBe('*');
    // With deployment groups, the cluster is the group's, known at run time.
    expect(sub(grant(statementsFor(PARAMS), 'ecs:ListTasks').Resource)).toContain('container-instance/*');
  });

  it('reads an SSM location’s parameters instead of S3', () => {
    const statements = statementsFor({
      ...PARAMS,
      configLocation: 'ssm:/greenlight/{application}/{deploymentGroup}',
    });
    expect(statements.some((s) => s.Action.includes('s3:GetObject'))).toBe(false);
    expect(sub(grant(statements, 'ssm:GetParameter').Resource)).toContain('parameter/greenlight/*/*');
  });

  it('publishes nowhere unless the platform names topics and buses, its defaults’ or those services may use', () => {
    const none = statementsFor(PARAMS).flatMap((s) => s.Action);
    expect(none).not.toContain('sns:Publish');
    expect(none).not.toContain('events:PutEvents');

    const params = {
      ...PARAMS,
      allowedNotifyTopics: 'deploys-{application},arn:aws:sns:eu-west-1:123456789012:shared',
      allowedEventBuses: '{cluster}-events',
    };
    const { settings } = platformSettings(params);
    const statements = platformIamStatements(settings, {
      notifyDefaults: { snsTopics: ['arn:aws:sns:eu-west-1:123456789012:platform'], eventBuses: [] },
    }) as Statement[];
    const topics = sub(grant(statements, 'sns:Publish').Resource);
    for (const topic of [
      ':sns:eu-west-1:123456789012:platform',
      ':sns:eu-west-1:123456789012:shared',
      ':sns:${AWS::Region}:${AWS::AccountId}:deploys-web-app',
      ':sns:${AWS::Region}:${AWS::AccountId}:deploys-billing-app',
      ':sns:${AWS::Region}:${AWS::AccountId}:deploys-cart',
    ])
      expect(topics).toContain(topic);
    expect(topics).not.toContain('deploys-*');
    // {cluster} fills for the ECS service only: a CodeDeploy group's entry is left out, not widened.
    expect(grant(statements, 'events:PutEvents').Resource).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/shop-events' },
    ]);
    expect(platformEnvironment(settings)).toMatchObject({
      GREENLIGHT_ALLOWED_NOTIFY_TOPICS: 'deploys-{application},arn:aws:sns:eu-west-1:123456789012:shared',
      GREENLIGHT_ALLOWED_EVENT_BUSES: '{cluster}-events',
    });
  });

  it('sets the functions’ environment from the params', () => {
    const { settings } = platformSettings(PARAMS);
    expect(platformEnvironment(settings)).toEqual({
      GREENLIGHT_CONFIG: PARAMS.configLocation,
      GREENLIGHT_CONFIG_TTL_SECONDS: '60',
      GREENLIGHT_TENANT_PREFIX: 'greenlight/{application}/',
      GREENLIGHT_ALLOWED_HOSTS: '*.internal.acme.example,10.20.0.15',
      GREENLIGHT_ALLOWED_NOTIFY_HOSTS: '',
      GREENLIGHT_ALLOWED_NOTIFY_TOPICS: '',
      GREENLIGHT_ALLOWED_EVENT_BUSES: '',
      GREENLIGHT_BREAK_GLASS_PREFIX: '/greenlight-break-glass/',
    });
  });

  it.each([
    [{ configLocation: 'greenlight.yml' }, 'param configLocation must name where'],
    [{ configLocation: 's3://Bad_Bucket/x.yml' }, 'with a literal bucket'],
    [{ deploymentGroups: '', ecsServices: '' }, 'both are empty'],
    [{ deploymentGroups: 'web-app' }, 'expected APPLICATION/GROUP'],
    [{ tenantPrefix: 'shared/' }, 'must contain {application}'],
    [{ breakGlassPrefix: '/greenlight/overrides/' }, 'lies under the tenants’ prefix'.replace('’', "'")],
    [{ configTtlSeconds: '-1' }, 'param configTtlSeconds'],
    [
      { allowedNotifyTopics: 'deploys {application}' },
      'param allowedNotifyTopics: expected an SNS topic name or ARN',
    ],
    [
      { allowedEventBuses: 'bus-{hookDetails.env}' },
      'param allowedEventBuses: "bus-{hookDetails.env}" uses {hookDetails}',
    ],
    [
      { allowedNotifyHosts: 'https://hooks.acme.example/x' },
      'param allowedNotifyHosts: expected a host name',
    ],
  ])('refuses %j', (override, message) => {
    expect(platformSettings({ ...PARAMS, ...override }).problems.join('\n')).toContain(message);
  });

  it('knows only the two modes', () => {
    expect(stackMode('platform')).toBe('platform');
    expect(stackMode('')).toBe('service');
    expect(() => stackMode('shared')).toThrow('param mode must be one of service, platform, got "shared"');
  });
});

export {};
