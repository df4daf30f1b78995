import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PassThrough } from 'node:stream';
import { main } from '../../bin/cli';
import { codeDeployServer } from '../support/aws-json-server';
import { projectCopy, REPO, serverless, type ServerlessRun } from './serverless-support';

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
      expect(fn.Properties.Environment.Variables.GREENLIGHT_CONFIG).toBe('/var/task/greenlight.yml');
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
        'ecs:DescribeServices',
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeLoadBalancers',
        'elasticloadbalancing:DescribeRules',
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
    expect(granted('ecs:DescribeServices')?.resource).toEqual([
      sub(`arn:\${AWS::Partition}:ecs:${region}:service/*`),
    ]);
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

  it('zips each function on its own: its handler, its own chunks and greenlight.yml', () => {
    for (const [zip, base] of [
      ['beforeAllowTraffic.zip', 'before-allow-traffic'],
      ['ecsLifecycleHook.zip', 'ecs-lifecycle-hook'],
    ] as const) {
      const files = listing(zip);
      expect(files).toContain('greenlight.yml');
      expect(files).toContain(`handlers/${base}.mjs`);
      const others = files.filter((f) => f !== 'greenlight.yml' && f !== `handlers/${base}.mjs`);
      expect(others.length).toBeGreaterThan(0);
      for (const file of others) expect(file).toMatch(new RegExp(`^handlers/${base}\\.chunk-\\w+\\.mjs$`));
    }
  });

  /** Unzips a function, as Lambda does, and runs its handler in a fresh Node process with `event`. */
  async function invokeUnzipped(
    zip: string,
    handlerFile: string,
    event: unknown,
    env: NodeJS.ProcessEnv,
    prepare?: (unpacked: string) => void,
  ): Promise<{ code: number; answer: string; stdout: string; stderr: string }> {
    const unpacked = mkdtempSync(join(dir, 'unpacked-'));
    execFileSync('unzip', ['-q', join(out, zip), '-d', unpacked]);
    prepare?.(unpacked);
    const script = `
      const { handler } = await import(${JSON.stringify(pathToFileURL(join(unpacked, handlerFile)).href)});
      const answer = await handler(JSON.parse(process.env.EVENT), { getRemainingTimeInMillis: () => 30000 });
      process.stdout.write('\\n' + JSON.stringify(answer));`;
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['--input-type=module', '-e', script],
        {
          cwd: unpacked,
          env: {
            PATH: process.env.PATH,
            AWS_REGION: 'eu-west-1',
            AWS_ACCESS_KEY_ID: 'test',
            AWS_SECRET_ACCESS_KEY: 'test',
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            POWERTOOLS_LOG_LEVEL: 'ERROR',
            EVENT: JSON.stringify(event),
            ...env,
          },
          timeout: 60_000,
        },
        (error, stdout, stderr) =>
          resolve({
            code: error ? Number(error.code) || 1 : 0,
            // The handler's answer is the last line; result metrics (EMF) are written before it.
            answer: String(stdout).trim().split('\n').pop() ?? '',
            stdout: String(stdout),
            stderr: String(stderr),
          }),
      );
    });
  }

  it('bundles everything the handler needs: the unzipped ECS hook loads a config and answers', async () => {
    const run = await invokeUnzipped(
      'ecsLifecycleHook.zip',
      'handlers/ecs-lifecycle-hook.mjs',
      {
        executionId: 'x',
        lifecycleStage: 'PRE_SCALE_UP',
        resourceArn: 'arn:aws:ecs:eu-west-1:123456789012:service/c/s',
        executionDetails: {},
      },
      { GREENLIGHT_CONFIG: 'no-checks.yml' },
      (unpacked) =>
        writeFileSync(
          join(unpacked, 'no-checks.yml'),
          'targets: { test: "http://127.0.0.1:9" }\nrunner: { noChecks: succeed }\n',
        ),
    );

    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(JSON.parse(run.answer)).toEqual({ hookStatus: 'SUCCEEDED' });
  });

  describe('an unzipped CodeDeploy hook, reporting to a local CodeDeploy', () => {
    const server = codeDeployServer();
    let endpoint: string;
    beforeAll(async () => {
      endpoint = await server.start();
      server.on('PutLifecycleEventHookExecutionStatus', () => ({
        body: { lifecycleEventHookExecutionId: 'x' },
      }));
    });
    afterAll(() => server.stop());

    const smoke = http.createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end('ok'));
    beforeAll(() => new Promise<void>((resolve) => smoke.listen(0, '127.0.0.1', resolve)));
    afterAll(() => new Promise<void>((resolve) => smoke.close(() => resolve())));

    const event = (id: string) => ({ DeploymentId: 'd-PACKAGE01', LifecycleEventHookExecutionId: id });
    const reported = (id: string) =>
      server
        .callsOf('PutLifecycleEventHookExecutionStatus')
        .filter((c) => c.body.lifecycleEventHookExecutionId === id)
        .map((c) => c.body.status);
    const smokeConfig = (unpacked: string) => {
      const { port } = smoke.address() as AddressInfo;
      writeFileSync(
        join(unpacked, 'smoke.yml'),
        `targets: { test: "http://127.0.0.1:${port}", prod: "http://127.0.0.1:${port}" }\n` +
          'checks:\n  smoke: { type: http, requests: [{ path: /health, expect: { status: 200 } }] }\n' +
          'hooks:\n  BeforeAllowTraffic: [smoke]\n',
      );
    };

    it('loads its chunks on first invocation, runs the smoke check and reports Succeeded', async () => {
      const run = await invokeUnzipped(
        'beforeAllowTraffic.zip',
        'handlers/before-allow-traffic.mjs',
        event('ok'),
        { GREENLIGHT_CONFIG: 'smoke.yml', AWS_ENDPOINT_URL_CODEDEPLOY: endpoint },
        smokeConfig,
      );

      expect([run.code, run.stderr]).toEqual([0, '']);
      expect(JSON.parse(run.answer)).toMatchObject({ status: 'Succeeded', delivery: 'reported' });
      expect(reported('ok')).toEqual(['Succeeded']);
    });

    it('reports Failed, naming the missing file, when the check code cannot be loaded', async () => {
      const run = await invokeUnzipped(
        'beforeAllowTraffic.zip',
        'handlers/before-allow-traffic.mjs',
        event('chunk-lost'),
        { GREENLIGHT_CONFIG: 'smoke.yml', AWS_ENDPOINT_URL_CODEDEPLOY: endpoint },
        (unpacked) => {
          smokeConfig(unpacked);
          // The chunk with the config loader, which the handler imports on first invocation.
          const handlers = join(unpacked, 'handlers');
          const configChunk = readdirSync(handlers).filter(
            (f) =>
              f.includes('.chunk-') && readFileSync(join(handlers, f), 'utf8').includes('cannot read config'),
          );
          expect(configChunk).toHaveLength(1);
          rmSync(join(handlers, configChunk[0]!));
        },
      );

      expect(run.code).toBe(0);
      const outcome = JSON.parse(run.answer) as { status: string; reason: string };
      expect(outcome.status).toBe('Failed');
      expect(outcome.reason).toMatch(/^hook error: .*before-allow-traffic\.chunk-\w+\.mjs/);
      expect(reported('chunk-lost')).toEqual(['Failed']);
    });
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
