import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../bin/cli';
import { projectCopy, serverless, type ServerlessRun } from './serverless-support';

// One packaging run for the whole file: it bundles six functions (about 20-60 s).
jest.setTimeout(240_000);

const FIXTURE = `targets:
  test: auto
  prod: auto
checks:
  smoke:
    type: http
    requests:
      - path: /health
        headers: { authorization: "Bearer \${ssm:/web/smoke-token}" }
        expect: { status: 200 }
  schema:
    type: schema
    password: "\${secretsmanager:prod/web/db#password}"
  legacy:
    type: schema
    password: "\${secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:legacy-db-AbCdEf#password}"
  alarms:
    type: alarms
  latency:
    type: metrics
hooks:
  AfterAllowTestTraffic: [smoke, schema, legacy, latency]
  BeforeAllowTraffic: [smoke, alarms]
  POST_TEST_TRAFFIC_SHIFT: [smoke]
`;

const EVENTS = [
  'BeforeInstall',
  'AfterInstall',
  'AfterAllowTestTraffic',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
];
/** Actions AWS does not let a policy scope to a resource: only these may have Resource "*". */
const UNSCOPABLE = new Set([
  'cloudwatch:GetMetricData',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeRules',
]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CloudFormation properties are free-form JSON
type Resource = { Type: string; Properties: Record<string, any> };
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

let dir: string;
let out: string;
let run: ServerlessRun;
let resources: Record<string, Resource>;
let statements: Statement[];

const byType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
const actionsOf = (s: Statement) => [s.Action].flat();
const statementFor = (action: string) => statements.find((s) => actionsOf(s).includes(action));
const sub = (text: string) => ({ 'Fn::Sub': text });

beforeAll(async () => {
  dir = projectCopy(FIXTURE);
  out = join(dir, 'out');
  run = await serverless(
    dir,
    [
      'package',
      '--stage',
      'ci',
      '--param=application=web-app',
      '--param=deploymentGroup=web-ci',
      '--package',
      out,
    ],
    230_000,
  );
  if (run.code !== 0)
    throw new Error(`serverless package failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
  const template = JSON.parse(
    readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as { Resources: Record<string, Resource> };
  resources = template.Resources;
  statements = resources.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('serverless package, offline and without AWS credentials', () => {
  it('names one CodeDeployHook_ function per lifecycle event, plus the ECS hook, all within 64 characters', () => {
    const names = byType('AWS::Lambda::Function').map((f) => f.Properties.FunctionName as string);

    expect(names.sort()).toEqual(
      [...EVENTS.map((e) => `CodeDeployHook_greenlight-ci-${e}`), 'greenlight-ci-EcsLifecycleHook'].sort(),
    );
    for (const name of names) expect(name.length).toBeLessThanOrEqual(64);
  });

  it('runs every function on nodejs22.x, arm64, with the config path set and the report reserve inside the timeout', () => {
    for (const fn of byType('AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        MemorySize: 512,
        Timeout: 300,
      });
      expect(fn.Properties.Environment.Variables.GREENLIGHT_CONFIG).toBe('greenlight.yml');
    }
  });

  it('turns asynchronous retries off for every function and keeps logs for 30 days', () => {
    const configs = byType('AWS::Lambda::EventInvokeConfig');
    const groups = byType('AWS::Logs::LogGroup');

    expect(configs).toHaveLength(6);
    for (const c of configs) expect(c.Properties.MaximumRetryAttempts).toBe(0);
    expect(groups).toHaveLength(6);
    for (const g of groups) expect(g.Properties.RetentionInDays).toBe(30);
  });

  it('scopes the CodeDeploy actions to the deployment group ARN built from the params', () => {
    const statement = statementFor('codedeploy:PutLifecycleEventHookExecutionStatus');

    expect(statement).toEqual({
      Effect: 'Allow',
      Action: [
        'codedeploy:PutLifecycleEventHookExecutionStatus',
        'codedeploy:GetDeployment',
        'codedeploy:GetDeploymentGroup',
      ],
      Resource: [
        sub(
          'arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:web-app/web-ci',
        ),
      ],
    });
  });

  it('has no "Action": "*" and uses "Resource": "*" only for actions AWS cannot scope', () => {
    for (const statement of statements) {
      for (const action of actionsOf(statement)) expect(action).not.toMatch(/(^|:)\*$/);
      const resources = [statement.Resource].flat();
      if (resources.includes('*')) expect(actionsOf(statement).filter((a) => !UNSCOPABLE.has(a))).toEqual([]);
    }
  });

  it('grants exactly the referenced secrets and parameters', () => {
    expect(statementFor('secretsmanager:GetSecretValue')?.Resource).toEqual([
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:legacy-db-AbCdEf',
      sub('arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:prod/web/db-??????'),
    ]);
    expect(statementFor('ssm:GetParameter')?.Resource).toEqual([
      sub('arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/web/smoke-token'),
    ]);
  });

  it('grants CloudWatch and discovery reads because the config uses alarms, metrics and auto targets', () => {
    expect(statementFor('cloudwatch:DescribeAlarms')?.Resource).toEqual([
      sub('arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*'),
    ]);
    expect(statementFor('cloudwatch:GetMetricData')?.Resource).toBe('*');
    expect(statementFor('ecs:DescribeServices')?.Resource).toEqual([
      sub('arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*'),
    ]);
    expect(statementFor('elasticloadbalancing:DescribeRules')).toBeDefined();
  });

  const listing = (zip: string) =>
    execFileSync('unzip', ['-Z1', join(out, zip)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();

  it('zips each function on its own: its handler, its own chunks, their module type and greenlight.yml', () => {
    for (const [zip, base] of [
      ['beforeAllowTraffic.zip', 'before-allow-traffic'],
      ['ecsLifecycleHook.zip', 'ecs-lifecycle-hook'],
    ] as const) {
      const files = listing(zip);
      const own = ['greenlight.yml', 'handlers/package.json', `handlers/${base}.js`];
      for (const file of own) expect(files).toContain(file);
      const others = files.filter((f) => !own.includes(f));
      expect(others.length).toBeGreaterThan(0);
      for (const file of others) expect(file).toMatch(new RegExp(`^handlers/${base}\\.chunk-\\w+\\.js$`));
    }
  });

  it('marks the bundles as ES modules, so that .js files load as the runtime and invoke local expect', () => {
    const pkg = execFileSync('unzip', ['-p', join(out, 'beforeAllowTraffic.zip'), 'handlers/package.json'], {
      encoding: 'utf8',
    });
    expect(JSON.parse(pkg)).toEqual({ type: 'module' });
  });

  it('renders an appspec that validates against the package output', async () => {
    const io = () => {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const text = { out: '', err: '' };
      stdout.on('data', (c) => (text.out += String(c)));
      stderr.on('data', (c) => (text.err += String(c)));
      return { io: { stdout, stderr, env: {}, cwd: dir }, text };
    };
    const file = join(dir, 'appspec.yml');
    const rendered = io();
    await main(
      [
        'appspec',
        'render',
        '--task-definition',
        'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:7',
        '--container',
        'web',
        '--port',
        '8080',
        '--stage',
        'ci',
        '--out',
        file,
      ],
      rendered.io,
    );
    const validated = io();

    const code = await main(['appspec', 'validate', file, '--package', out], validated.io);

    expect(validated.text.err).toBe('');
    expect(validated.text.out).toBe(`${file}: valid (2 hooks, checked against 6 packaged functions)\n`);
    expect(code).toBe(0);
  });
});
