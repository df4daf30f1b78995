import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../bin/cli';
import { renderAppspec } from '../../appspec/render';
import { validateAppspec } from '../../appspec/validate';

const TASK_DEF = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:42';
const ARGS = ['--task-definition', TASK_DEF, '--container', 'web', '--port', '80'];
const FIXTURES = join(__dirname, 'fixtures');

function capture(cwd: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += String(c)));
  stderr.on('data', (c) => (err += String(c)));
  return { io: { stdout, stderr, env: {}, cwd }, out: () => out, err: () => err };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'appspec-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('greenlight appspec render', () => {
  it('renders the golden appspec: task definition, container, capacity providers, network and this stage’s hook functions', async () => {
    const { io, out, err } = capture(dir);

    const code = await main(
      [
        'appspec',
        'render',
        '--task-definition',
        TASK_DEF,
        '--container',
        'web',
        '--port',
        '8080',
        '--platform-version',
        'LATEST',
        '--subnets',
        'subnet-0a1,subnet-0b2',
        '--security-groups',
        'sg-0c3',
        '--capacity-provider-strategy',
        'capacityProvider=FARGATE,base=1,weight=1',
        '--capacity-provider-strategy',
        'capacityProvider=FARGATE_SPOT,weight=3',
        '--service',
        'greenlight',
        '--stage',
        'prod',
      ],
      io,
    );

    expect(err()).toBe('');
    expect(code).toBe(0);
    expect(out()).toBe(readFileSync(join(FIXTURES, 'appspec.rendered.yml'), 'utf8'));
  });

  it.each(['yaml', 'json'])('writes %s output that `appspec validate` accepts', async (format) => {
    const file = join(dir, `appspec.${format}`);
    const rendered = capture(dir);
    expect(
      await main(
        [
          'appspec',
          'render',
          '--task-definition',
          TASK_DEF,
          '--container',
          'web',
          '--port',
          '8080',
          '--service',
          'web',
          '--stage',
          'qa',
          '--format',
          format,
          '--out',
          file,
        ],
        rendered.io,
      ),
    ).toBe(0);

    const validated = capture(dir);
    const code = await main(['appspec', 'validate', file], validated.io);

    expect(validated.err()).toBe('');
    expect(validated.out()).toBe(`${file}: valid (5 hooks)\n`);
    expect(code).toBe(0);
  });

  it('lists hooks only for the events greenlight.yml has checks for', async () => {
    const config = join(dir, 'two-events.yml');
    writeFileSync(
      config,
      'targets: { test: auto }\nchecks: {}\nhooks:\n  AfterAllowTestTraffic: [smoke]\n  BeforeAllowTraffic: [smoke]\n  AfterInstall: []\n',
    );
    const { io, out } = capture(dir);

    await main(
      [
        'appspec',
        'render',
        '--task-definition',
        TASK_DEF,
        '--container',
        'web',
        '--port',
        '80',
        '--service',
        'web',
        '--stage',
        'qa',
        '--config',
        config,
      ],
      io,
    );

    expect(validateAppspec(out()).hooks).toEqual([
      { event: 'AfterAllowTestTraffic', functionName: 'CodeDeployHook_web-qa-AfterAllowTestTraffic' },
      { event: 'BeforeAllowTraffic', functionName: 'CodeDeployHook_web-qa-BeforeAllowTraffic' },
    ]);
  });

  it.each([
    [['--container', 'web', '--port', '80'], '--task-definition is required'],
    [
      ['--task-definition', TASK_DEF, '--container', 'web', '--port', 'http'],
      '--port: expected a port number 1-65535, got "http"',
    ],
    [
      ['--task-definition', TASK_DEF, '--container', 'web', '--port', '80', '--subnets', 'subnet-1'],
      '--subnets and --security-groups go together (with --assign-public-ip optional): give both or neither',
    ],
    [
      [
        '--task-definition',
        TASK_DEF,
        '--container',
        'web',
        '--port',
        '80',
        '--events',
        'AfterInstall,AllowTraffic',
      ],
      '--events: AllowTraffic is not an ECS lifecycle event; expected BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic',
    ],
    [
      [...ARGS, '--capacity-provider-strategy', 'FARGATE_SPOT'],
      '--capacity-provider-strategy: expected capacityProvider=NAME[,base=N][,weight=N], got "FARGATE_SPOT"',
    ],
    [
      [...ARGS, '--capacity-provider-strategy', 'weight=2'],
      '--capacity-provider-strategy: capacityProvider=NAME is required, got "weight=2"',
    ],
    [
      [...ARGS, '--capacity-provider-strategy', 'capacityProvider=FARGATE,weight=1001'],
      '--capacity-provider-strategy: weight must be an integer 0-1000, got "1001"',
    ],
    [
      [...ARGS, '--capacity-provider-strategy', 'capacityProvider=FARGATE,base=1.5'],
      '--capacity-provider-strategy: base must be an integer 0-100000, got "1.5"',
    ],
  ])('refuses %j with a usage error', async (args, message) => {
    const { io, err } = capture(dir);

    const code = await main(['appspec', 'render', '--service', 'web', ...args], io);

    expect(code).toBe(2);
    expect(err().split('\n')[0]).toBe(`greenlight appspec: ${message}`);
  });

  it('renders no appspec when two capacity providers have a Base, and says why', async () => {
    const { io, out, err } = capture(dir);

    const code = await main(
      [
        'appspec',
        'render',
        '--service',
        'web',
        ...ARGS,
        '--capacity-provider-strategy',
        'capacityProvider=FARGATE,base=1',
        '--capacity-provider-strategy',
        'capacityProvider=FARGATE_SPOT,base=2',
      ],
      io,
    );

    expect(code).toBe(1);
    expect(out()).toBe('');
    expect(err()).toBe(
      'appspec: Resources[0].TargetService.Properties.CapacityProviderStrategy: only one capacity provider may have a Base; FARGATE and FARGATE_SPOT both do\n',
    );
  });
});

const VALID = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "${TASK_DEF}"
        LoadBalancerInfo:
          ContainerName: "web"
          ContainerPort: 8080
Hooks:
  - BeforeInstall: "CodeDeployHook_web-prod-BeforeInstall"
  - AfterAllowTestTraffic: "arn:aws:lambda:eu-west-1:123456789012:function:CodeDeployHook_web-prod-AfterAllowTestTraffic"
`;

describe('appspec validation', () => {
  it('accepts a valid appspec and reads its hooks, ARN or name', () => {
    expect(validateAppspec(VALID)).toEqual({
      ok: true,
      errors: [],
      warnings: [],
      hooks: [
        { event: 'BeforeInstall', functionName: 'CodeDeployHook_web-prod-BeforeInstall' },
        { event: 'AfterAllowTestTraffic', functionName: 'CodeDeployHook_web-prod-AfterAllowTestTraffic' },
      ],
    });
  });

  const awsvpc = (body: string) =>
    VALID.replace(
      '          ContainerPort: 8080\n',
      `          ContainerPort: 8080\n        NetworkConfiguration:\n          AwsvpcConfiguration:\n${body}`,
    );

  const strategy = (body: string) =>
    VALID.replace(
      '          ContainerPort: 8080\n',
      `          ContainerPort: 8080\n        CapacityProviderStrategy:\n${body}`,
    );

  it('accepts a capacity provider strategy within ECS’s ranges', () => {
    const result = validateAppspec(
      strategy(
        '          - CapacityProvider: FARGATE\n            Base: 100000\n            Weight: 0\n          - CapacityProvider: FARGATE_SPOT\n            Weight: 1000\n',
      ),
    );

    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it('names the package’s hook when the appspec was rendered for another stage', () => {
    const dev = ['BeforeInstall', 'AfterAllowTestTraffic'].map((e) => `CodeDeployHook_web-dev-${e}`);

    const result = validateAppspec(VALID, { functionNames: dev });

    expect(result.errors).toEqual([
      'Hooks[0].BeforeInstall: "CodeDeployHook_web-prod-BeforeInstall" is not in the package, whose BeforeInstall hook is "CodeDeployHook_web-dev-BeforeInstall": render the appspec for the service and stage that were packaged (--service, --stage)',
      'Hooks[1].AfterAllowTestTraffic: "CodeDeployHook_web-prod-AfterAllowTestTraffic" is not in the package, whose AfterAllowTestTraffic hook is "CodeDeployHook_web-dev-AfterAllowTestTraffic": render the appspec for the service and stage that were packaged (--service, --stage)',
    ]);
  });

  it.each([
    [
      'a version other than 0.0',
      VALID.replace('version: 0.0', 'version: 1.0'),
      'version: expected 0.0, got 1.0',
    ],
    [
      'version 0 without the fraction',
      VALID.replace('version: 0.0', 'version: 0'),
      'version: expected 0.0, got 0',
    ],
    ['no version', VALID.replace('version: 0.0\n', ''), 'version: missing; expected 0.0'],
    [
      'two target services',
      VALID.replace('Hooks:', '  - Other:\n      Type: AWS::ECS::Service\nHooks:'),
      'Resources: expected exactly one target service, got 2',
    ],
    [
      'a Lambda target',
      VALID.replace('AWS::ECS::Service', 'AWS::Lambda::Function'),
      'Resources[0].TargetService.Type: expected AWS::ECS::Service, got the string "AWS::Lambda::Function"',
    ],
    [
      'a family name instead of a task definition ARN',
      VALID.replace(`"${TASK_DEF}"`, 'web:42'),
      'Resources[0].TargetService.Properties.TaskDefinition: expected a task definition ARN (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION), got "web:42"',
    ],
    [
      'ContainerPort as a string',
      VALID.replace('ContainerPort: 8080', 'ContainerPort: "8080"'),
      'Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerPort: expected a port number 1-65535 (a number, not a string), got the string "8080"',
    ],
    [
      'no ContainerName',
      VALID.replace('          ContainerName: "web"\n', ''),
      'Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerName: missing',
    ],
    [
      'a misspelt property',
      VALID.replace(
        'LoadBalancerInfo:',
        'LoadBalancerInfo:\n          ContainerPort: 80\n        Platform: LATEST\n        LoadBalancerInfo2:',
      ).replace(
        'LoadBalancerInfo2:\n          ContainerName: "web"\n          ContainerPort: 8080\n',
        'LoadBalancerInfo2: {}\n',
      ),
      'Resources[0].TargetService.Properties.Platform: unknown key (expected TaskDefinition, LoadBalancerInfo, PlatformVersion, NetworkConfiguration, CapacityProviderStrategy)',
    ],
    [
      'network configuration without AssignPublicIp',
      awsvpc('            Subnets: [subnet-1]\n            SecurityGroups: [sg-1]\n'),
      'Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration: Subnets, SecurityGroups, AssignPublicIp go together; missing AssignPublicIp',
    ],
    [
      'network configuration with an empty subnet list',
      awsvpc(
        '            Subnets: []\n            SecurityGroups: [sg-1]\n            AssignPublicIp: DISABLED\n',
      ),
      'Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets: expected a non-empty list of strings, got a list',
    ],
    [
      'AssignPublicIp as a boolean',
      awsvpc(
        '            Subnets: [subnet-1]\n            SecurityGroups: [sg-1]\n            AssignPublicIp: false\n',
      ),
      'Resources[0].TargetService.Properties.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp: expected ENABLED or DISABLED, got false',
    ],
    [
      'a capacity provider strategy that is not a list',
      strategy('          CapacityProvider: FARGATE\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy: expected a non-empty list of items (- CapacityProvider: NAME, Base: N, Weight: N), got a mapping',
    ],
    [
      'a strategy item without CapacityProvider',
      strategy('          - Base: 1\n            Weight: 1\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy[0].CapacityProvider: missing',
    ],
    [
      'a strategy item with an empty CapacityProvider',
      strategy('          - CapacityProvider: ""\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy[0].CapacityProvider: expected a non-empty string, got the string ""',
    ],
    [
      'Weight as a string',
      strategy('          - CapacityProvider: FARGATE\n            Weight: "1"\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy[0].Weight: expected an integer 0-1000 (a number, not a string), got the string "1"',
    ],
    [
      'Weight above 1,000',
      strategy('          - CapacityProvider: FARGATE\n            Weight: 1001\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy[0].Weight: expected an integer 0-1000 (a number, not a string), got 1001',
    ],
    [
      'a negative Base',
      strategy('          - CapacityProvider: FARGATE\n            Base: -1\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy[0].Base: expected an integer 0-100000 (a number, not a string), got -1',
    ],
    [
      'Base above 100,000',
      strategy('          - CapacityProvider: FARGATE\n            Base: 100001\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy[0].Base: expected an integer 0-100000 (a number, not a string), got 100001',
    ],
    [
      'a misspelt strategy key',
      strategy('          - CapacityProvider: FARGATE\n            weight: 1\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy[0].weight: unknown key (expected CapacityProvider, Base, Weight)',
    ],
    [
      'one capacity provider twice',
      strategy('          - CapacityProvider: FARGATE\n          - CapacityProvider: FARGATE\n'),
      'Resources[0].TargetService.Properties.CapacityProviderStrategy[1].CapacityProvider: FARGATE is listed twice; a strategy names each capacity provider once',
    ],
    [
      'Hooks as a mapping',
      VALID.replace(/Hooks:[\s\S]*$/, 'Hooks:\n  BeforeInstall: CodeDeployHook_web-prod-BeforeInstall\n'),
      'Hooks: expected a list of single-key mappings (- BeforeInstall: FUNCTION), got a mapping',
    ],
    [
      'two events in one hook entry',
      VALID.replace(
        '  - BeforeInstall: "CodeDeployHook_web-prod-BeforeInstall"\n',
        '  - BeforeInstall: "CodeDeployHook_web-prod-BeforeInstall"\n    AfterInstall: "CodeDeployHook_web-prod-AfterInstall"\n',
      ),
      'Hooks[0]: expected a single-key mapping (- EVENT: FUNCTION), got 2 keys',
    ],
    [
      'an EC2 event name',
      VALID.replace('- BeforeInstall:', '- ApplicationStart:'),
      'Hooks[0]: "ApplicationStart" is not an ECS lifecycle event; expected one of BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic',
    ],
    [
      'an ECS built-in stage name',
      VALID.replace('- BeforeInstall:', '- POST_TEST_TRAFFIC_SHIFT:'),
      'Hooks[0]: "POST_TEST_TRAFFIC_SHIFT" is not an ECS lifecycle event; expected one of BeforeInstall, AfterInstall, AfterAllowTestTraffic, BeforeAllowTraffic, AfterAllowTraffic',
    ],
    [
      'one event twice',
      VALID.replace(
        '- AfterAllowTestTraffic: "arn:aws:lambda:eu-west-1:123456789012:function:CodeDeployHook_web-prod-AfterAllowTestTraffic"',
        '- BeforeInstall: "CodeDeployHook_web-prod-BeforeInstall"',
      ),
      'Hooks[1].BeforeInstall: BeforeInstall is listed twice; CodeDeploy runs one function per event',
    ],
    [
      'a function name over 64 characters',
      VALID.replace('"CodeDeployHook_web-prod-BeforeInstall"', `"CodeDeployHook_${'x'.repeat(50)}"`),
      `Hooks[0].BeforeInstall: "CodeDeployHook_${'x'.repeat(50)}" is not a Lambda function name (letters, digits, - and _, at most 64) or function ARN`,
    ],
    [
      'a function name with a space',
      VALID.replace('"CodeDeployHook_web-prod-BeforeInstall"', '"CodeDeployHook web"'),
      'Hooks[0].BeforeInstall: "CodeDeployHook web" is not a Lambda function name (letters, digits, - and _, at most 64) or function ARN',
    ],
    [
      'a hook without a function',
      VALID.replace('- BeforeInstall: "CodeDeployHook_web-prod-BeforeInstall"', '- BeforeInstall:'),
      'Hooks[0].BeforeInstall: expected a Lambda function name or ARN, got null',
    ],
    [
      'invalid YAML',
      'version: 0.0\nResources: [\n',
      '(root): invalid YAML at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ],
    [
      'a duplicate key',
      VALID.replace('Hooks:', 'version: 0.0\nHooks:'),
      '(root): invalid YAML at line 10, column 1: Map keys must be unique',
    ],
  ])('rejects %s with the exact reason', (_what, text, reason) => {
    const result = validateAppspec(text);

    expect(result.ok).toBe(false);
    expect(result.errors[0]).toBe(reason);
  });

  it('reads JSON appspecs as well', () => {
    const json = JSON.stringify({
      version: 0.0,
      Resources: [
        {
          TargetService: {
            Type: 'AWS::ECS::Service',
            Properties: {
              TaskDefinition: TASK_DEF,
              LoadBalancerInfo: { ContainerName: 'web', ContainerPort: '8080' },
            },
          },
        },
      ],
    }).replace('"version":0', '"version":0.0');

    expect(validateAppspec(json).errors).toEqual([
      'Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerPort: expected a port number 1-65535 (a number, not a string), got the string "8080"',
    ]);
  });

  it('warns, without failing, about a hook the limited CodeDeploy role could not invoke', () => {
    const result = validateAppspec(
      VALID.replace('"CodeDeployHook_web-prod-BeforeInstall"', '"web-prod-before-install"'),
    );

    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([
      'Hooks[0].BeforeInstall: "web-prod-before-install" does not start with CodeDeployHook_; a service role with AWSCodeDeployRoleForECSLimited cannot invoke it',
    ]);
  });

  it.each([
    [
      'a function of another service',
      ['CodeDeployHook_api-prod-BeforeInstall', 'CodeDeployHook_api-prod-AfterAllowTestTraffic'],
      'Hooks[0].BeforeInstall: "CodeDeployHook_web-prod-BeforeInstall" is not in the package, whose BeforeInstall hook is "CodeDeployHook_api-prod-BeforeInstall": render the appspec for the service and stage that were packaged (--service, --stage)',
    ],
    [
      'the function of another event',
      ['CodeDeployHook_web-prod-BeforeInstall', 'CodeDeployHook_web-prod-AfterAllowTestTraffic'],
      undefined,
    ],
  ])('checks hooks against the package output: %s', (_what, functionNames, reason) => {
    const swapped = VALID.replace('- BeforeInstall:', '- AfterInstall:');
    const result = validateAppspec(reason ? VALID : swapped, { functionNames });

    expect(result.errors[0]).toBe(
      reason ??
        'Hooks[0].AfterInstall: "CodeDeployHook_web-prod-BeforeInstall" is the BeforeInstall hook, not the AfterInstall hook',
    );
  });

  it('renders the template without the CLI, keeping version 0.0 in JSON', () => {
    const json = renderAppspec({
      taskDefinition: TASK_DEF,
      containerName: 'web',
      containerPort: 80,
      hooks: [],
      format: 'json',
    });

    expect(json).toContain('"version": 0.0,');
    expect(validateAppspec(json).ok).toBe(true);
  });

  it('exits 1 and names the file and the reason for an invalid appspec, 2 for a missing one', async () => {
    const file = join(dir, 'broken.yml');
    writeFileSync(file, VALID.replace('ContainerPort: 8080', 'ContainerPort: "8080"'));
    const broken = capture(dir);
    const missing = capture(dir);

    expect(await main(['appspec', 'validate', file], broken.io)).toBe(1);
    expect(await main(['appspec', 'validate', join(dir, 'nope.yml')], missing.io)).toBe(2);

    expect(broken.err()).toBe(
      `${file}: Resources[0].TargetService.Properties.LoadBalancerInfo.ContainerPort: expected a port number 1-65535 (a number, not a string), got the string "8080"\n`,
    );
    expect(missing.err()).toBe(`${join(dir, 'nope.yml')}: cannot read: file not found\n`);
  });
});
