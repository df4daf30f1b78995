import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { deflateRawSync } from 'node:zlib';
import { main } from '../../bin/cli';
import { projectCopy, REPO, serverless, type ServerlessRun } from './serverless-support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readEntries, recompressZip } = require('../../deploy/recompress-zips.js') as {
  readEntries(zip: string): Promise<Array<{ name: string; mode: number | undefined; data: Buffer }>>;
  recompressZip(zip: string): Promise<[number, number]>;
};

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
/**
 * Actions that need Resource "*": AWS lets no policy scope these, except DescribeAlarms, which
 * returns composite alarms only to a grant on "*".
 */
const UNSCOPABLE = new Set([
  'cloudwatch:DescribeAlarms',
  'cloudwatch:GetMetricData',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:DescribeTargetHealth',
]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CloudFormation properties are free-form JSON
type Resource = { Type: string; Properties: Record<string, any> };
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** `npm run package -- <these>`, as README.md and deploy/README.md have it. */
const PACKAGE_ARGS = ['--stage', 'prod', '--param=application=web-app', '--param=deploymentGroup=web-prod'];
const KMS_KEY = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ALARM_TOPIC = 'arn:aws:sns:eu-west-1:123456789012:deploy-alerts';

let dir: string;
let out: string;
let run: ServerlessRun;
let resources: Record<string, Resource>;
let outputs: Record<string, { Value: unknown; Export?: unknown }>;
let statements: Statement[];

const byType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
const actionsOf = (s: Statement) => [s.Action].flat();
const statementFor = (action: string) => statements.find((s) => actionsOf(s).includes(action));
const sub = (text: string) => ({ 'Fn::Sub': text });

beforeAll(async () => {
  dir = projectCopy(FIXTURE);
  // Where `npm run package` writes by default, and where `appspec validate` looks.
  out = join(dir, '.serverless');
  run = await serverless(
    dir,
    ['package', ...PACKAGE_ARGS, `--param=kmsKeyArn=${KMS_KEY}`, `--param=alarmActionArn=${ALARM_TOPIC}`],
    230_000,
  );
  if (run.code !== 0)
    throw new Error(`serverless package failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
  const template = JSON.parse(
    readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as { Resources: Record<string, Resource>; Outputs: typeof outputs };
  resources = template.Resources;
  outputs = template.Outputs;
  statements = resources.IamRoleLambdaExecution!.Properties.Policies[0].PolicyDocument.Statement;
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('serverless package, offline and without AWS credentials', () => {
  it('names one CodeDeployHook_ function per lifecycle event, plus the ECS hook, all within 64 characters', () => {
    const names = byType('AWS::Lambda::Function').map((f) => f.Properties.FunctionName as string);

    expect(names.sort()).toEqual(
      [
        ...EVENTS.map((e) => `CodeDeployHook_greenlight-prod-${e}`),
        'greenlight-prod-EcsLifecycleHook',
      ].sort(),
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
          'arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:web-app/web-prod',
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

  it('grants every action on the resource types AWS documents for it, and nothing else', () => {
    const grants = statements.flatMap((s) =>
      actionsOf(s).map((action) => ({
        action,
        resource: s.Resource,
        condition: (s as { Condition?: unknown }).Condition,
      })),
    );
    const region = '${AWS::Region}:${AWS::AccountId}';

    expect(grants.map((g) => g.action).sort()).toEqual(
      [
        'codedeploy:GetDeployment',
        'codedeploy:GetDeploymentGroup',
        'codedeploy:PutLifecycleEventHookExecutionStatus',
        'cloudwatch:DescribeAlarms',
        'cloudwatch:GetMetricData',
        'ecs:DescribeServiceDeployments',
        'ecs:DescribeServiceRevisions',
        'ecs:DescribeServices',
        'ecs:DescribeTasks',
        'ecs:ListTasks',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeRules',
        'elasticloadbalancing:DescribeTargetHealth',
        'kms:Decrypt',
        'logs:CreateLogGroup',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'logs:TagResource',
        'secretsmanager:GetSecretValue',
        'sqs:SendMessage',
        'ssm:GetParameter',
      ].sort(),
    );
    const granted = (action: string) => grants.find((g) => g.action === action);
    // ecs: both resource types the Service Authorization Reference lists for the action.
    expect(granted('ecs:DescribeServiceDeployments')?.resource).toEqual([
      sub(`arn:\${AWS::Partition}:ecs:${region}:service/*`),
      sub(`arn:\${AWS::Partition}:ecs:${region}:service-deployment/*`),
    ]);
    // The ECS hook's diagnosis of green's tasks (an http check at POST_TEST_TRAFFIC_SHIFT): the revision.
    expect(granted('ecs:DescribeServiceRevisions')?.resource).toEqual([
      sub(`arn:\${AWS::Partition}:ecs:${region}:service-revision/*`),
    ]);
    expect(granted('ecs:DescribeServices')?.resource).toEqual([
      sub(`arn:\${AWS::Partition}:ecs:${region}:service/*`),
    ]);
    // The diagnosis of green's tasks: ListTasks on container instances, DescribeTasks on tasks.
    expect(granted('ecs:ListTasks')?.resource).toEqual([
      sub(`arn:\${AWS::Partition}:ecs:${region}:container-instance/*`),
      sub(`arn:\${AWS::Partition}:ecs:${region}:task/*`),
    ]);
    expect(granted('elasticloadbalancing:DescribeTargetHealth')?.resource).toBe('*');
    // cloudwatch: composite alarms are returned only to a grant on "*".
    expect(granted('cloudwatch:DescribeAlarms')?.resource).toBe('*');
    expect(granted('cloudwatch:GetMetricData')?.resource).toBe('*');
    for (const action of ['DescribeListeners', 'DescribeLoadBalancers', 'DescribeRules'])
      expect(granted(`elasticloadbalancing:${action}`)?.resource).toBe('*');
    // kms: the key, and only through the services that hand the hook its secrets.
    expect(granted('kms:Decrypt')).toEqual({
      action: 'kms:Decrypt',
      resource: [KMS_KEY],
      condition: {
        StringEquals: {
          'kms:ViaService': [
            sub('secretsmanager.${AWS::Region}.amazonaws.com'),
            sub('ssm.${AWS::Region}.amazonaws.com'),
          ],
        },
      },
    });
    expect(granted('sqs:SendMessage')?.resource).toEqual({ 'Fn::GetAtt': ['HookFailureQueue', 'Arn'] });
    // logs (serverless's own grant): the functions' log groups only.
    for (const g of grants.filter((g) => g.action.startsWith('logs:')))
      for (const r of g.resource as Array<{ 'Fn::Sub': string }>)
        expect(r['Fn::Sub']).toMatch(
          /^arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:\/aws\/lambda\/(CodeDeployHook_)?greenlight-prod[-\w*]*:\*(:\*)?$/,
        );
  });

  it('sends every function’s failed asynchronous invocations to a queue the stack keeps for 14 days', () => {
    const configs = byType('AWS::Lambda::EventInvokeConfig');

    expect(resources.HookFailureQueue).toEqual({
      Type: 'AWS::SQS::Queue',
      Properties: { MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true },
    });
    expect(configs).toHaveLength(6);
    for (const c of configs)
      expect(c.Properties.DestinationConfig).toEqual({
        OnFailure: { Destination: { 'Fn::GetAtt': ['HookFailureQueue', 'Arn'] } },
      });
    expect(outputs.HookFailureQueueUrl?.Value).toEqual({ Ref: 'HookFailureQueue' });
  });

  it.each([
    ['Errors', 'HookErrorsAlarm'],
    ['Throttles', 'HookThrottlesAlarm'],
  ])('alarms on the %s of all six functions, notifying the alarmActionArn topic', (metric, id) => {
    const functionIds = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([logicalId]) => logicalId);
    const alarm = resources[id]!;
    const metrics = alarm.Properties.Metrics as Array<{
      Id: string;
      Expression?: string;
      ReturnData: boolean;
      MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown[] }; Stat: string };
    }>;

    expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm.Properties).toMatchObject({
      AlarmName: `greenlight-prod-Hook${metric}`,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [ALARM_TOPIC],
    });
    const stats = metrics.filter((m) => m.MetricStat);
    expect(stats.map((m) => m.MetricStat!.Metric.Dimensions).sort()).toEqual(
      functionIds.map((fn) => [{ Name: 'FunctionName', Value: { Ref: fn } }]).sort(),
    );
    for (const m of stats) {
      expect(m.MetricStat).toMatchObject({
        Metric: { Namespace: 'AWS/Lambda', MetricName: metric },
        Stat: 'Sum',
      });
      expect(m.ReturnData).toBe(false);
    }
    expect(metrics.filter((m) => m.ReturnData)).toEqual([
      {
        Id: 'total',
        Expression: 'SUM(FILL(METRICS(), 0))',
        Label: `${metric} of the hooks`,
        ReturnData: true,
      },
    ]);
  });

  it('creates the role ECS assumes to invoke the ECS hook, allowed to invoke that function only, and exports both ARNs', () => {
    const role = resources.EcsLifecycleHookInvokeRole!;
    const hookArn = { 'Fn::GetAtt': ['EcsLifecycleHookLambdaFunction', 'Arn'] };

    expect(role.Type).toBe('AWS::IAM::Role');
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Principal: { Service: 'ecs.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
    expect(
      role.Properties.Policies.flatMap(
        (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
      ),
    ).toEqual([{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: hookArn }]);
    expect(outputs.EcsLifecycleHookArn).toMatchObject({
      Value: hookArn,
      Export: { Name: sub('${AWS::StackName}-EcsLifecycleHookArn') },
    });
    expect(outputs.EcsLifecycleHookRoleArn).toMatchObject({
      Value: { 'Fn::GetAtt': ['EcsLifecycleHookInvokeRole', 'Arn'] },
      Export: { Name: sub('${AWS::StackName}-EcsLifecycleHookRoleArn') },
    });
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

  it('compresses every entry at zlib level 9 with a fixed date, and writing a zip again changes no byte', async () => {
    const zips = ['beforeInstall.zip', 'afterAllowTestTraffic.zip', 'ecsLifecycleHook.zip'];
    for (const zip of zips) {
      // unzip -Z: permissions, version, system, size, type, compressed size, method, date, time, name.
      const rows = execFileSync('unzip', ['-Zl', join(out, zip)], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => /^-/.test(line))
        .map((line) => line.trim().split(/\s+/));
      const entries = await readEntries(join(out, zip));
      expect(rows.map((r) => r[9])).toEqual(entries.map((e) => e.name));
      entries.forEach((entry, i) => {
        const [mode, , , size, , compressed, method, date, time] = rows[i]!;
        expect({ name: entry.name, mode, size: Number(size), method, date, time }).toEqual({
          name: entry.name,
          mode: '-rw-r--r--',
          size: entry.data.length,
          method: 'defN',
          date: '80-Jan-01',
          time: '00:00',
        });
        // zlib's level 9 on the same bytes gives the same stream; serverless-esbuild's level 1 does not.
        expect(Number(compressed)).toBe(deflateRawSync(entry.data, { level: 9 }).length);
      });
      const copy = join(dir, `again-${zip}`);
      copyFileSync(join(out, zip), copy);
      await recompressZip(copy);
      expect(readFileSync(copy).equals(readFileSync(join(out, zip)))).toBe(true);
    }
  });

  it('marks the bundles as ES modules, so that .js files load as the runtime and invoke local expect', () => {
    const pkg = execFileSync('unzip', ['-p', join(out, 'beforeAllowTraffic.zip'), 'handlers/package.json'], {
      encoding: 'utf8',
    });
    expect(JSON.parse(pkg)).toEqual({ type: 'module' });
  });

  /** The commands of the first `sh` block in `file` that renders an appspec, one token list each. */
  function deployCommands(file: string): string[][] {
    const blocks = [...readFileSync(join(REPO, file), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map(
      (m) => m[1]!,
    );
    const block = blocks.find((b) => b.includes('appspec render'));
    if (!block) throw new Error(`${file}: no sh block with appspec render`);
    return block
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean)
      .map((line) => line.split(/\s+/).map((token) => token.replaceAll('"', '')));
  }

  it.each(['README.md', 'deploy/README.md'])(
    'runs the deploy sequence %s documents: package, render at the same stage, validate against the package',
    async (readme) => {
      const commands = deployCommands(readme);
      const find = (...head: string[]) => {
        const found = commands.find((c) => head.every((word, i) => c[i] === word));
        if (!found) throw new Error(`${readme}: no "${head.join(' ')}" in the deploy sequence`);
        return found;
      };
      const io = () => {
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        const text = { out: '', err: '' };
        stdout.on('data', (c) => (text.out += String(c)));
        stderr.on('data', (c) => (text.err += String(c)));
        return { io: { stdout, stderr, env: {}, cwd: dir }, text };
      };

      // The package this file ran (beforeAll) is the one the README has, deployed as packaged.
      expect(find('npm', 'run', 'package').slice(3)).toEqual(['--', ...PACKAGE_ARGS]);
      const deploy = find('npx', 'serverless', 'deploy');
      expect(deploy.slice(3)).toEqual(expect.arrayContaining([...PACKAGE_ARGS, '--package', '.serverless']));
      const render = find('npx', 'greenlight', 'appspec', 'render');
      const redirect = render.indexOf('>');
      expect(redirect).toBeGreaterThan(0);
      const rendered = io();
      expect(await main(render.slice(2, redirect), rendered.io)).toBe(0);
      writeFileSync(join(dir, render[redirect + 1]!), rendered.text.out);
      const validate = find('npx', 'greenlight', 'appspec', 'validate');
      const validated = io();

      const code = await main(validate.slice(2), validated.io);

      expect(validated.text.err).toBe('');
      expect(validated.text.out).toBe(
        `${validate[4]}: valid (2 hooks, checked against 6 packaged functions)\n`,
      );
      expect(code).toBe(0);
    },
  );
});
