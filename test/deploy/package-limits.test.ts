import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { deployedRuntime, runtimeNodeMajor } from '../../bench/runtime-node';
import { projectCopy, serverless } from './serverless-support';

/* eslint-disable @typescript-eslint/no-require-imports */
const plugin = {
  ...require('../../deploy/greenlight-plugin.js'),
  ...require('../../deploy/config-analysis.js'),
  ...require('../../deploy/iam-statements.js'),
} as {
  analyseConfig(
    text: string,
    source: string,
    options?: { runs?: (hook: string) => boolean },
  ): {
    secrets: string[];
    parameters: string[];
    checkTypes: string[];
    autoTargets: string[];
    discoveringChecks: string[];
    gated: boolean;
    schemaEngines: string[];
    s3Objects: { read: string[]; write: string[]; folders?: string[] };
    expectsJsonSchema: boolean;
    reportReserveMs: number;
  };
  handlerEvents(entryPath: string): ((hook: string) => boolean) | undefined;
  functionProblems(
    functions: Record<
      string,
      { name?: string; handler: string; timeout?: number; memorySize?: number; rehearses?: boolean }
    >,
    reportReserveMs: number,
  ): string[];
  iamStatements(
    analysis: ReturnType<typeof plugin.analyseConfig>,
    options: { application: string; deploymentGroup: string; ecsHook: boolean; kmsKeyArn?: string },
  ): Array<{ Action: string[]; Resource: unknown; Condition?: unknown }>;
  paramProblems(params: {
    runtime?: string;
    failureDestinationArn?: string;
    alarmActionArn?: string;
  }): string[];
  failureDestination(arn: string): { type: string; arn: unknown };
  stackResources(options: {
    service: string;
    stage: string;
    functionIds: string[];
    ecsHookId?: string;
    failureDestinationArn: string;
    alarmActionArn: string;
  }): { resources: Record<string, { Type: string }>; outputs: Record<string, unknown> };
};
/* eslint-enable @typescript-eslint/no-require-imports */

// The plugin stops packaging before anything is bundled, so this run takes a few seconds.
jest.setTimeout(120_000);

describe('packaging refuses a stack CodeDeploy could not use', () => {
  let dir: string | undefined;
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails with a clear error when a stage name makes a function name pass 64 characters', async () => {
    dir = projectCopy('targets: { test: auto }\nhooks: {}\n');
    const stage = 'feature-very-long-branch-name';

    const run = await serverless(dir, ['package', '--stage', stage, '--package', `${dir}/out`], 110_000);

    expect(run.code).not.toBe(0);
    const name = `CodeDeployHook_greenlight-${stage}-AfterAllowTestTraffic`;
    expect(`${run.stdout}\n${run.stderr}`).toContain(
      `greenlight: function afterAllowTestTraffic: name "${name}" is ${name.length} characters; Lambda allows 64. Use a shorter service or stage name.`,
    );
  });

  it('refuses the default 512 MiB for the function whose event runs a migration rehearsal, before anything is bundled', async () => {
    const copy = projectCopy(
      'targets: { test: "http://127.0.0.1:9" }\nchecks:\n  r: { type: migration-rehearsal, url: "postgres://a@db/app", migrations: "s3://art/web/migrations/" }\nhooks:\n  BeforeInstall: [r]\n',
    );
    try {
      const run = await serverless(copy, ['package', '--stage', 'dev', '--package', `${copy}/out`], 110_000);

      expect(run.code).not.toBe(0);
      const output = `${run.stdout}\n${run.stderr}`;
      expect(output).toContain(
        'greenlight: function beforeInstall: memorySize 512 MiB is too small for its migration-rehearsal check',
      );
      expect(output).not.toContain('function afterInstall: memorySize');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it.each(['nodejs20.x', 'python3.12'])(
    'refuses the runtime %s with the runtimes it takes, before anything is bundled',
    async (runtime) => {
      dir ??= projectCopy('targets: { test: auto }\nhooks: {}\n');

      const run = await serverless(
        dir,
        ['package', '--stage', 'dev', `--param=runtime=${runtime}`, '--package', `${dir}/out`],
        110_000,
      );

      expect(run.code).not.toBe(0);
      expect(`${run.stdout}\n${run.stderr}`).toContain(
        `greenlight: param runtime must be nodejs22.x or nodejs24.x, got "${runtime}"`,
      );
    },
  );
});

describe('the stack params', () => {
  const valid = { runtime: 'nodejs22.x', failureDestinationArn: '', alarmActionArn: '' };

  it.each(['nodejs22.x', 'nodejs24.x'])('accepts the runtime %s', (runtime) => {
    expect(plugin.paramProblems({ ...valid, runtime })).toEqual([]);
  });

  it.each([
    ['arn:aws:sqs:eu-west-1:123456789012:hook-failures', 'sqs'],
    ['arn:aws:sns:eu-west-1:123456789012:hook-failures', 'sns'],
  ])('sends failed invocations to the given %s, and the stack creates no queue', (arn, type) => {
    expect(plugin.paramProblems({ ...valid, failureDestinationArn: arn })).toEqual([]);
    expect(plugin.failureDestination(arn)).toEqual({ type, arn });
    const { resources, outputs } = plugin.stackResources({
      service: 'greenlight',
      stage: 'prod',
      functionIds: ['BeforeInstallLambdaFunction'],
      failureDestinationArn: arn,
      alarmActionArn: '',
    });
    expect(Object.values(resources).map((r) => r.Type)).toEqual([
      'AWS::CloudWatch::Alarm',
      'AWS::CloudWatch::Alarm',
    ]);
    expect(outputs).toEqual({});
  });

  it.each([
    [
      'failureDestinationArn',
      'arn:aws:sqs:eu-west-1:123456789012:hook-failures.fifo',
      `param failureDestinationArn must be the ARN of a standard SQS queue or SNS topic (arn:aws:sqs:REGION:ACCOUNT:NAME), or empty for the stack's own queue; got "arn:aws:sqs:eu-west-1:123456789012:hook-failures.fifo"`,
    ],
    [
      'failureDestinationArn',
      'hook-failures',
      `param failureDestinationArn must be the ARN of a standard SQS queue or SNS topic (arn:aws:sqs:REGION:ACCOUNT:NAME), or empty for the stack's own queue; got "hook-failures"`,
    ],
    [
      'alarmActionArn',
      'arn:aws:sqs:eu-west-1:123456789012:alerts',
      'param alarmActionArn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), or empty for no action; got "arn:aws:sqs:eu-west-1:123456789012:alerts"',
    ],
  ])('refuses %s %s, naming what it takes', (param, value, problem) => {
    expect(plugin.paramProblems({ ...valid, [param]: value })).toEqual([problem]);
  });

  it('lets the benchmarks find the runtime behind ${param:runtime}: its default, nodejs22.x', () => {
    expect(deployedRuntime()).toBe('nodejs22.x');
    expect(runtimeNodeMajor()).toBe(22);
  });
});

describe('the packaging plugin', () => {
  it.each([
    [
      'a CodeDeploy hook without the prefix',
      { a: { name: 'beforeInstall-hook', handler: 'handlers/before-install.handler', timeout: 300 } },
      'function a: CodeDeploy hook name "beforeInstall-hook" must start with CodeDeployHook_ (AWSCodeDeployRoleForECSLimited may invoke only those)',
    ],
    [
      'a name with a dot',
      { a: { name: 'CodeDeployHook_svc.prod', handler: 'handlers/before-install.handler', timeout: 300 } },
      'function a: name "CodeDeployHook_svc.prod" may contain only letters, digits, "-" and "_"',
    ],
    [
      'a timeout that the report reserve eats up',
      {
        a: {
          name: 'CodeDeployHook_svc-prod-BeforeInstall',
          handler: 'handlers/before-install.handler',
          timeout: 12,
        },
      },
      'function a: timeout 12 s leaves less than 5 s for checks after runner.reportReserveMs (10000 ms)',
    ],
  ])('reports %s', (_what, functions, problem) => {
    expect(plugin.functionProblems(functions, 10_000)).toEqual([problem]);
  });

  it('lets the ECS hook go without the CodeDeployHook_ prefix', () => {
    expect(
      plugin.functionProblems(
        {
          ecs: {
            name: 'svc-prod-EcsLifecycleHook',
            handler: 'handlers/ecs-lifecycle-hook.handler',
            timeout: 300,
          },
        },
        10_000,
      ),
    ).toEqual([]);
  });

  it('reads references, check types, auto targets and the report reserve from greenlight.yml', () => {
    const analysis = plugin.analyseConfig(
      'targets: { test: auto, prod: "http://alb" }\nchecks:\n  a: { type: http, token: "x${ssm:app/token}y${secretsmanager:db#user}", other: "${secretsmanager:db#password}" }\n  b: { type: alarms }\nrunner: { reportReserveMs: 20000 }\n',
      'greenlight.yml',
    );

    expect(analysis).toEqual({
      gated: false,
      secrets: ['db'],
      parameters: ['app/token'],
      checkTypes: ['alarms', 'http'],
      autoTargets: ['test'],
      discoveringChecks: [],
      greenDiagnosis: false,
      ecsGreenDiagnosis: false,
      schemaEngines: [],
      s3Objects: { read: [], write: [], folders: [] },
      expectsJsonSchema: false,
      // An http check makes requests: the bundle keeps the http check's client.
      httpClient: true,
      reportReserveMs: 20_000,
      snsTopics: [],
      eventBuses: [],
    });
  });

  it('grants s3:GetObject and s3:PutObject on the exact objects schema checks read and record', () => {
    const analysis = plugin.analyseConfig(
      'targets: { test: "http://alb" }\nchecks:\n  r: { type: schema, url: "postgres://a@db/app", statements: { recorded: "s3://art/web/blue.json" } }\n  w: { type: schema, url: "postgres://a@db/app", statements: observed, record: "s3://art/web/next.json" }\n  f: { type: schema, url: "postgres://a@db/app", statements: { recorded: blue.json } }\n',
      'greenlight.yml',
    );

    const statements = plugin.iamStatements(analysis, {
      application: 'app',
      deploymentGroup: 'dg',
      ecsHook: false,
    });

    expect(statements.slice(1)).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::art/web/blue.json' }],
      },
      {
        Effect: 'Allow',
        Action: ['s3:PutObject'],
        Resource: [{ 'Fn::Sub': 'arn:${AWS::Partition}:s3:::art/web/next.json' }],
      },
    ]);
  });

  it('grants a migration rehearsal s3:ListBucket on its migrations prefix and s3:GetObject on the objects under it', () => {
    const analysis = plugin.analyseConfig(
      'targets: { test: "http://alb" }\nchecks:\n' +
        '  r: { type: migration-rehearsal, url: "postgres://a@db/app", migrations: "s3://art/web/migrations/", statements: { recorded: "s3://art/web/blue.json" } }\n' +
        '  s: { type: migration-rehearsal, url: "postgres://a@db/app", migrations: "s3://art/api/migrations" }\n' +
        '  o: { type: migration-rehearsal, url: "postgres://a@db/app", migrations: "s3://other/db/" }\n' +
        '  f: { type: migration-rehearsal, url: "postgres://a@db/app", migrations: db/migrations }\n',
      'greenlight.yml',
    );
    expect(analysis.schemaEngines).toEqual(['postgres']);
    expect(analysis.s3Objects).toEqual({
      read: ['art/web/blue.json'],
      write: [],
      folders: ['art/api/migrations/', 'art/web/migrations/', 'other/db/'],
    });

    const statements = plugin.iamStatements(analysis, {
      application: 'app',
      deploymentGroup: 'dg',
      ecsHook: false,
    });

    const arn = (resource: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:s3:::${resource}` });
    expect(statements.slice(1)).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject'],
        Resource: [
          arn('art/web/blue.json'),
          arn('art/api/migrations/*'),
          arn('art/web/migrations/*'),
          arn('other/db/*'),
        ],
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [arn('art')],
        Condition: { StringEquals: { 's3:prefix': ['api/migrations/', 'web/migrations/'] } },
      },
      {
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: [arn('other')],
        Condition: { StringEquals: { 's3:prefix': ['db/'] } },
      },
    ]);
  });

  it('refuses a function that runs a migration rehearsal with less than 1024 MiB, and only that one', () => {
    const problems = plugin.functionProblems(
      {
        beforeInstall: {
          name: 'CodeDeployHook_web-prod-BeforeInstall',
          handler: 'handlers/before-install.handler',
          timeout: 300,
          memorySize: 512,
          rehearses: true,
        },
        afterInstall: {
          name: 'CodeDeployHook_web-prod-AfterInstall',
          handler: 'handlers/after-install.handler',
          timeout: 300,
          memorySize: 512,
          rehearses: false,
        },
        afterAllowTraffic: {
          name: 'CodeDeployHook_web-prod-AfterAllowTraffic',
          handler: 'handlers/after-allow-traffic.handler',
          timeout: 300,
          memorySize: 1024,
          rehearses: true,
        },
      },
      10_000,
    );
    expect(problems).toEqual([
      'function beforeInstall: memorySize 512 MiB is too small for its migration-rehearsal check, which runs PostgreSQL (PGlite) inside the function; set param memorySize to 1024 or more',
    ]);
  });

  it('reads the check types, engines and expect.schema of the checks listed under the events a hook runs', () => {
    const text =
      'targets: { test: "http://alb" }\nchecks:\n' +
      '  smoke: { type: http, requests: [{ path: /h, expect: { schema: { type: object } } }] }\n' +
      '  db: { type: schema, url: "mysql://db/app" }\n  idle: { type: alarms }\n' +
      'hooks:\n  BeforeInstall: [db]\n  AfterAllowTestTraffic: [smoke]\n  POST_TEST_TRAFFIC_SHIFT: [smoke, db]\n';
    const at = (handler: string) => {
      const runs = plugin.handlerEvents(join(__dirname, '..', '..', 'handlers', `${handler}.ts`));
      const { checkTypes, schemaEngines, expectsJsonSchema } = plugin.analyseConfig(text, 'greenlight.yml', {
        runs,
      });
      return { checkTypes, schemaEngines, expectsJsonSchema };
    };
    expect(at('before-install')).toEqual({
      checkTypes: ['schema'],
      schemaEngines: ['mysql'],
      expectsJsonSchema: false,
    });
    expect(at('after-allow-test-traffic')).toEqual({
      checkTypes: ['http'],
      schemaEngines: [],
      expectsJsonSchema: true,
    });
    expect(at('after-allow-traffic')).toEqual({
      checkTypes: [],
      schemaEngines: [],
      expectsJsonSchema: false,
    });
    expect(at('ecs-lifecycle-hook')).toEqual({
      checkTypes: ['http', 'schema'],
      schemaEngines: ['mysql'],
      expectsJsonSchema: true,
    });
  });

  it('tells a config with a bake window or an approval, which needs the state table', () => {
    const gated = (checks: string) =>
      plugin.analyseConfig(`targets: { test: "http://alb" }\nchecks:\n${checks}`, 'greenlight.yml').gated;
    expect(gated('  a: { type: http, window: { durationMinutes: 10 } }\n')).toBe(true);
    expect(gated('  a: { type: approval, timeoutMinutes: 10 }\n')).toBe(true);
    expect(gated('  a: { type: http }\n')).toBe(false);
  });

  it('reads the engines schema checks connect to, from engine or the URL, both when it cannot tell', () => {
    const engines = (checks: string) =>
      plugin.analyseConfig(`targets: { test: "http://alb" }\nchecks:\n${checks}`, 'greenlight.yml')
        .schemaEngines;

    expect(engines('  a: { type: schema, url: "postgresql://app@db/app" }\n')).toEqual(['postgres']);
    expect(engines('  a: { type: schema, url: "mariadb://app@db/app" }\n')).toEqual(['mysql']);
    expect(engines('  a: { type: schema, engine: mysql, host: db }\n')).toEqual(['mysql']);
    expect(engines('  a: { type: schema, url: "${env:DB_URL}" }\n')).toEqual(['mysql', 'postgres']);
    expect(engines('  a: { type: http }\n')).toEqual([]);
  });

  it('grants only the CodeDeploy report and read when nothing else is referenced', () => {
    const analysis = plugin.analyseConfig(
      'targets: { test: "http://alb:8080" }\nchecks:\n  a: { type: http }\n',
      'greenlight.yml',
    );

    const statements = plugin.iamStatements(analysis, {
      application: 'app',
      deploymentGroup: 'dg',
      ecsHook: false,
    });

    expect(statements.map((s) => s.Action)).toEqual([
      ['codedeploy:PutLifecycleEventHookExecutionStatus', 'codedeploy:GetDeployment'],
    ]);
  });

  it('grants the diagnosis of green’s tasks only when an http check runs at AfterInstall or AfterAllowTestTraffic', () => {
    const statementsFor = (hooks: string) =>
      plugin.iamStatements(
        plugin.analyseConfig(
          `targets: { test: "http://alb:8080" }\nchecks:\n  smoke: { type: http }\n  a: { type: alarms }\nhooks: ${hooks}\n`,
          'greenlight.yml',
        ),
        { application: 'app', deploymentGroup: 'dg', ecsHook: false },
      );

    const diagnosing = statementsFor('{ AfterAllowTestTraffic: [smoke] }');
    const notDiagnosing = statementsFor('{ BeforeAllowTraffic: [smoke], AfterInstall: [a] }');

    expect(diagnosing.map((s) => s.Action)).toEqual([
      [
        'codedeploy:PutLifecycleEventHookExecutionStatus',
        'codedeploy:GetDeployment',
        'codedeploy:GetDeploymentGroup',
      ],
      ['ecs:DescribeServices'],
      ['ecs:ListTasks', 'ecs:DescribeTasks'],
      ['elasticloadbalancing:DescribeTargetHealth'],
      ['cloudwatch:DescribeAlarms'],
    ]);
    expect(notDiagnosing.flatMap((s) => s.Action)).not.toContain('ecs:ListTasks');
  });

  it('grants the ECS hook’s diagnosis of green’s tasks only for an http check at POST_SCALE_UP, TEST_TRAFFIC_SHIFT or POST_TEST_TRAFFIC_SHIFT', () => {
    const statementsFor = (hooks: string, ecsHook = true) =>
      plugin.iamStatements(
        plugin.analyseConfig(
          `targets: { test: "http://alb:8080" }\nchecks:\n  smoke: { type: http }\n  a: { type: alarms }\nhooks: ${hooks}\n`,
          'greenlight.yml',
        ),
        { application: 'app', deploymentGroup: 'dg', ecsHook },
      );
    const region = '${AWS::Region}:${AWS::AccountId}';

    const diagnosing = statementsFor('{ POST_TEST_TRAFFIC_SHIFT: [smoke] }');

    // No CodeDeploy reads: green is the event's target service revision.
    expect(diagnosing).toEqual([
      {
        Effect: 'Allow',
        Action: ['codedeploy:PutLifecycleEventHookExecutionStatus', 'codedeploy:GetDeployment'],
        Resource: [expect.anything()],
      },
      {
        Effect: 'Allow',
        Action: ['ecs:ListTasks', 'ecs:DescribeTasks'],
        Resource: [
          { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:${region}:container-instance/*` },
          { 'Fn::Sub': `arn:\${AWS::Partition}:ecs:${region}:task/*` },
        ],
      },
      { Effect: 'Allow', Action: ['elasticloadbalancing:DescribeTargetHealth'], Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['ecs:DescribeServiceRevisions'],
        Resource: [{ 'Fn::Sub': `arn:\${AWS::Partition}:ecs:${region}:service-revision/*` }],
      },
      expect.objectContaining({ Action: ['ecs:DescribeServiceDeployments'] }),
      expect.objectContaining({ Action: ['cloudwatch:DescribeAlarms'] }),
    ]);
    expect(
      statementsFor('{ PRODUCTION_TRAFFIC_SHIFT: [smoke], POST_SCALE_UP: [a] }').flatMap((s) => s.Action),
    ).not.toContain('ecs:ListTasks');
    expect(statementsFor('{ AfterAllowTestTraffic: [smoke] }').flatMap((s) => s.Action)).not.toContain(
      'ecs:DescribeServiceRevisions',
    );
    // Without the ECS hook in the stack, nothing of it is granted.
    expect(statementsFor('{ POST_SCALE_UP: [smoke] }', false).flatMap((s) => s.Action)).toEqual([
      'codedeploy:PutLifecycleEventHookExecutionStatus',
      'codedeploy:GetDeployment',
      'cloudwatch:DescribeAlarms',
    ]);
  });

  it.each([
    [
      'with discover: true',
      'discover: true',
      [
        [
          'codedeploy:PutLifecycleEventHookExecutionStatus',
          'codedeploy:GetDeployment',
          'codedeploy:GetDeploymentGroup',
        ],
        ['ecs:DescribeServices'],
        ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeLoadBalancers'],
        ['cloudwatch:GetMetricData'],
      ],
    ],
    [
      'with fixed target groups',
      'loadBalancer: app/a/1, green: targetgroup/g/1, blue: targetgroup/b/2',
      [
        ['codedeploy:PutLifecycleEventHookExecutionStatus', 'codedeploy:GetDeployment'],
        ['cloudwatch:GetMetricData'],
      ],
    ],
  ])('grants a target-groups check %s only the reads it makes', (_, options, actions) => {
    const analysis = plugin.analyseConfig(
      `targets: { test: "http://alb:8080" }\nchecks:\n  cw: { type: target-groups, ${options} }\n`,
      'greenlight.yml',
    );

    const statements = plugin.iamStatements(analysis, {
      application: 'app',
      deploymentGroup: 'dg',
      ecsHook: false,
    });

    expect(statements.map((s) => s.Action)).toEqual(actions);
  });

  it('adds kms:Decrypt on the given key only when secrets are referenced', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const withSecret = plugin.analyseConfig(
      'targets: { test: "http://alb" }\nchecks:\n  a: { type: http, p: "${ssm:/x}" }\n',
      'g.yml',
    );
    const without = plugin.analyseConfig('targets: { test: "http://alb" }\n', 'g.yml');

    const granted = plugin.iamStatements(withSecret, {
      application: 'a',
      deploymentGroup: 'd',
      ecsHook: false,
      kmsKeyArn: key,
    });
    const notGranted = plugin.iamStatements(without, {
      application: 'a',
      deploymentGroup: 'd',
      ecsHook: false,
      kmsKeyArn: key,
    });

    expect(granted.find((s) => s.Action.includes('kms:Decrypt'))?.Resource).toEqual([key]);
    expect(notGranted.some((s) => s.Action.includes('kms:Decrypt'))).toBe(false);
  });
});
