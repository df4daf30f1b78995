import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../bin/command';
import { createValidateCommand } from '../../bin/commands/validate';
import { AwsJsonServer, cloudWatchServer, type AwsCall } from '../support/aws-json-server';
import { scriptedCheckType } from '../support/test-check-types';
import { cliIO, normalise } from './cli-io';
import { expectGolden } from './golden';

const SCHEMA_CONTRACT = { reads: { users: ['id', 'email'] }, writes: { users: ['id', 'email'] } };
const SESSION_CONTRACT = { keyPrefix: 'sess:', cookieName: 'sid', codec: 'json' };

const dir = mkdtempSync(join(tmpdir(), 'greenlight-cli-validate-'));
const cloudWatch = cloudWatchServer();
let server: Server;
let live: string;
beforeAll(async () => {
  // Serves the session contract only; the schema contract's default path answers 404.
  server = createServer((req, res) => {
    if (req.url === '/hang') return; // headers never come
    if (req.url === '/.well-known/greenlight/session.json')
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(SESSION_CONTRACT));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  live = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Read when the default CloudWatch client is first created, by the first alarm lookup.
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = await cloudWatch.start();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await cloudWatch.stop();
  delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH;
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => cloudWatch.reset());

const command = createValidateCommand({ checkTypes: [scriptedCheckType] });
const file = (text: string, extension = 'yml') => {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.${extension}`);
  writeFileSync(path, text);
  return path;
};
const json = (value: unknown) => file(JSON.stringify(value), 'json');
/** The built-in check types; targets, hooks and checks from the test. */
const builtin = createValidateCommand();
const config = (checks: Record<string, unknown>) =>
  file(JSON.stringify({ targets: { test: live, prod: live }, checks }));
const SCHEMA_DB = { type: 'schema', url: 'postgres://greenlight_ro@127.0.0.1:5432/test' };
const SESSION_STORE = { type: 'session', store: { engine: 'redis', host: '127.0.0.1', port: 6379 } };
const withCredentials = { AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST' };

/** A CloudWatch that knows these alarms (name → state) and answers DescribeAlarms by names or by prefix. */
function knownAlarms(alarms: Record<string, string>) {
  cloudWatch.on('DescribeAlarms', (call: AwsCall) => {
    const { AlarmNames, AlarmNamePrefix, MaxRecords } = call.body as {
      AlarmNames?: string[];
      AlarmNamePrefix?: string;
      MaxRecords?: number;
    };
    const matching = Object.entries(alarms)
      .filter(([name]) => (AlarmNames ? AlarmNames.includes(name) : name.startsWith(AlarmNamePrefix ?? '')))
      .slice(0, MaxRecords ?? 100);
    return {
      body: {
        MetricAlarms: matching.map(([AlarmName, StateValue]) => ({ AlarmName, StateValue })),
        CompositeAlarms: [],
      },
    };
  });
}

describe('greenlight validate', () => {
  it('exits 0 when the config is valid and every target answers (any status counts)', async () => {
    const { io, stdout } = cliIO();
    const code = await command.run(
      [
        '--config',
        file(
          `targets: { test: "${live}", prod: "${live}" }\nchecks: { smoke: { type: scripted, behaviour: pass } }\nhooks: { AfterAllowTestTraffic: [smoke] }\n`,
        ),
      ],
      io,
    );
    expect(code).toBe(EXIT_OK);
    expect(normalise(stdout())).toMatch(
      /is valid: 1 check at 1 lifecycle event\nok {3}target test http:\/\/127\.0\.0\.1:<port>\/ answered 404 in <duration>\n/,
    );
  });

  it('exits 1 naming the target that does not answer', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const { io, stdout } = cliIO();
    expect(
      await command.run(
        ['--config', file(`targets: { test: "${live}", prod: "http://127.0.0.1:${port}" }\n`)],
        io,
      ),
    ).toBe(EXIT_FAILED);
    expect(stdout()).toContain(`FAIL target prod http://127.0.0.1:${port}/ did not answer: ECONNREFUSED`);
  });

  it('exits 2 listing every unset ${env:...} at once, ignoring comments and defaults', async () => {
    const { io, stdout } = cliIO({ env: { SET: 'x' } });
    const config = file(
      '# ${env:IN_A_COMMENT}\ntargets: { test: "${env:GREEN_URL}", prod: "${env:BLUE_URL}", x: "${env:OPT:-http://a}" }\nchecks: {}\nz: "${env:SET}"\n',
    );
    expect(await command.run(['--config', config], io)).toBe(EXIT_USAGE);
    expect(stdout()).toBe('FAIL environment variables not set: GREEN_URL, BLUE_URL\n');
  });

  it('exits 2 with the config error for an invalid config', async () => {
    const { io, stdout } = cliIO();
    expect(
      await command.run(
        ['--config', file(`targets: { test: "${live}" }\nhooks: { AfterAllowTestTraffic: [ghost] }\n`)],
        io,
      ),
    ).toBe(EXIT_USAGE);
    expect(stdout()).toMatch(/FAIL config: .*hooks\.AfterAllowTestTraffic\[0\]: unknown check "ghost"/);
  });
});

describe('greenlight validate: contracts', () => {
  it.each([
    [
      'schema',
      { ...SCHEMA_DB, contracts: { green: { target: 'test' } } },
      '/.well-known/greenlight/contract.json',
    ],
    [
      'session',
      {
        ...SESSION_STORE,
        contracts: { blue: { inline: SESSION_CONTRACT }, green: { target: 'test', path: '/gone.json' } },
      },
      '/gone.json',
    ],
  ])(
    'exits 1 when a %s contract served by a target answers 404, naming the URL and the status',
    async (type, check, path) => {
      const { io, stdout } = cliIO();
      expect(await builtin.run(['--config', config({ db: check })], io)).toBe(EXIT_FAILED);
      expect(normalise(stdout())).toContain(
        `FAIL contract green of ${type} check db: GET http://127.0.0.1:<port>${path} returned 404, expected 200 (<duration>)\n`,
      );
    },
  );

  it('exits 0 when every contract loads: schema from a file, session from a file, the config and a target', async () => {
    const { io, stdout } = cliIO();
    const schemaFile = json(SCHEMA_CONTRACT);
    const sessionFile = json({ session: SESSION_CONTRACT });
    const code = await builtin.run(
      [
        '--config',
        config({
          db: { ...SCHEMA_DB, contracts: { green: { file: schemaFile } } },
          sessions: {
            ...SESSION_STORE,
            contracts: { blue: { file: sessionFile }, green: { target: 'test' } },
          },
          inline: {
            ...SESSION_STORE,
            contracts: { blue: { inline: SESSION_CONTRACT }, green: { inline: SESSION_CONTRACT } },
          },
        }),
      ],
      io,
    );
    expect(stdout()).not.toContain('FAIL');
    expect(code).toBe(EXIT_OK);
    const out = normalise(stdout());
    expect(out).toContain(`ok   contract green of schema check db loaded from file ${schemaFile}\n`);
    expect(out).toContain(`ok   contract blue of session check sessions loaded from ${sessionFile}\n`);
    expect(out).toContain(
      'ok   contract green of session check sessions loaded from http://127.0.0.1:<port>/.well-known/greenlight/session.json\n',
    );
    expect(out).toContain('ok   contract blue of session check inline loaded from the config\n');
  });

  it('says from the configured keys alone whether each version verifies the other’s session cookies', async () => {
    const { io, stdout } = cliIO();
    const keys = {
      blue: [{ label: 'k1', value: 'blue-cookie-secret-1' }],
      green: [{ label: 'k1', value: 'green-cookie-secret-2' }],
    };
    const code = await builtin.run(
      [
        '--config',
        config({ cookies: { type: 'session', cookies: { framework: 'flask', keys, sample: false } } }),
      ],
      io,
    );
    expect(code).toBe(EXIT_FAILED);
    expect(stdout()).toMatch(
      /^FAIL cookie keys of session check cookies: green does not verify blue's k1 \(fp [0-9a-f]{16}\) \(label k1 names a different secret .*: the secret changed under the same label\); blue does not verify green's k1/m,
    );
    expect(stdout()).not.toContain('cookie-secret');
  });

  it.each([
    [
      'a schema contract file that names a column badly',
      { ...SCHEMA_DB, contracts: { green: { file: '<file>' } } },
      { reads: { users: ['e-mail'] } },
      /^FAIL contract green of schema check db: contract file \S+ is invalid: reads\.users\[0\]: expected a plain SQL identifier/m,
    ],
    [
      'a session contract file without a cookie name',
      { ...SESSION_STORE, contracts: { blue: { file: '<file>' }, green: { inline: SESSION_CONTRACT } } },
      { keyPrefix: 'sess:', codec: 'json' },
      /^FAIL contract blue of session check db: \S+\.json: invalid session contract: cookieName: required/m,
    ],
  ])('exits 1 for %s, naming the field', async (_name, check, contract, expected) => {
    const path = json(contract);
    const contracts = JSON.parse(
      JSON.stringify((check as { contracts: unknown }).contracts).replace('<file>', path),
    );
    const { io, stdout } = cliIO();
    expect(await builtin.run(['--config', config({ db: { ...check, contracts } })], io)).toBe(EXIT_FAILED);
    expect(stdout()).toMatch(expected);
  });

  it('exits 1 within the contract timeout when a target never answers for its contract', async () => {
    const { io, stdout } = cliIO();
    const check = {
      ...SCHEMA_DB,
      contractTimeoutMs: 200,
      contracts: { green: { target: 'test', path: '/hang' } },
    };
    expect(await builtin.run(['--config', config({ db: check })], io)).toBe(EXIT_FAILED);
    expect(normalise(stdout())).toContain(
      'FAIL contract green of schema check db: GET http://127.0.0.1:<port>/hang timed out after <duration> (waiting for response headers) [no time left for another attempt]\n',
    );
  });

  it('exits 1 naming a contract file that does not exist', async () => {
    const { io, stdout } = cliIO();
    const missing = join(dir, 'no-such-contract.json');
    expect(
      await builtin.run(
        ['--config', config({ db: { ...SCHEMA_DB, contracts: { green: { file: missing } } } })],
        io,
      ),
    ).toBe(EXIT_FAILED);
    expect(stdout()).toContain(
      `FAIL contract green of schema check db: cannot read contract file ${missing}: `,
    );
  });

  it('skips, not fails, an optional schema contract that answers 404, and says why', async () => {
    const { io, stdout } = cliIO();
    const check = {
      ...SCHEMA_DB,
      contracts: { green: { file: json(SCHEMA_CONTRACT) }, blue: { target: 'prod', optional: true } },
    };
    expect(await builtin.run(['--config', config({ db: check })], io)).toBe(EXIT_OK);
    expect(normalise(stdout())).toContain(
      'skip contract blue of schema check db: GET http://127.0.0.1:<port>/.well-known/greenlight/contract.json returned 404, expected 200 (<duration>); the source is optional, so blue is not checked\n',
    );
  });
  it('looks for no contract in a schema check that compares recorded statements instead', async () => {
    const { io, stdout } = cliIO();
    const check = { ...SCHEMA_DB, statements: 'observed' };

    const code = await builtin.run(['--config', config({ db: check })], io);

    expect(code).toBe(EXIT_OK);
    expect(stdout()).not.toContain('contract');
  });
});

describe('greenlight validate: alarms', () => {
  const gates = { type: 'alarms', names: ['web-5xx', 'web-5xz'], prefixes: ['web-ecs-', 'api-'] };

  it('exits 1 naming an alarm missing from CloudWatch and a prefix that matches nothing', async () => {
    knownAlarms({ 'web-5xx': 'OK', 'web-ecs-cpu': 'ALARM' });
    const { io, stdout } = cliIO({ env: withCredentials });
    expect(await builtin.run(['--config', config({ gates })], io)).toBe(EXIT_FAILED);
    const out = stdout();
    expect(out).toContain('ok   alarm web-5xx of alarms check gates exists (now OK)\n');
    expect(out).toContain(
      'FAIL alarm web-5xz of alarms check gates does not exist: DescribeAlarms found no metric or composite alarm by that name (check the spelling and the region)\n',
    );
    // An alarm in ALARM exists: the pre-flight asks about existence, the check judges the state.
    expect(out).toContain(
      'ok   alarm prefix web-ecs- of alarms check gates matches web-ecs-cpu (now ALARM)\n',
    );
    expect(out).toContain(
      'FAIL alarm prefix api- of alarms check gates matches no alarm (DescribeAlarms found none)\n',
    );
    expect(cloudWatch.callsOf('DescribeAlarms').map((c) => c.body)).toEqual([
      { AlarmNames: ['web-5xx', 'web-5xz'], MaxRecords: 100, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
      { AlarmNamePrefix: 'web-ecs-', MaxRecords: 100, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
      { AlarmNamePrefix: 'api-', MaxRecords: 100, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] },
    ]);
  });

  it('exits 0 when every alarm exists and every prefix matches', async () => {
    knownAlarms({
      'web-5xx': 'INSUFFICIENT_DATA',
      'web-5xz': 'OK',
      'web-ecs-cpu': 'OK',
      'api-latency': 'OK',
    });
    const { io } = cliIO({ env: withCredentials });
    expect(await builtin.run(['--config', config({ gates })], io)).toBe(EXIT_OK);
  });

  it('exits 1 with the missing permission when CloudWatch denies DescribeAlarms', async () => {
    cloudWatch.script('DescribeAlarms', { error: 'AccessDenied', message: 'not authorized', status: 403 });
    const { io, stdout } = cliIO({ env: withCredentials });
    expect(
      await builtin.run(['--config', config({ gates: { type: 'alarms', names: ['web-5xx'] } })], io),
    ).toBe(EXIT_FAILED);
    expect(stdout()).toContain(
      'FAIL alarms check gates: could not ask CloudWatch whether web-5xx exist: DescribeAlarms was denied (AccessDenied): the role needs cloudwatch:DescribeAlarms',
    );
  });

  it('skips the alarm lookups without AWS credentials, saying why, and asks CloudWatch nothing', async () => {
    knownAlarms({});
    const { io, stdout } = cliIO({ env: {} });
    expect(await builtin.run(['--config', config({ gates })], io)).toBe(EXIT_OK);
    expect(stdout()).toContain(
      'skip alarms check gates: no AWS credentials in the environment (none of AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI is set), so CloudWatch was not asked whether its alarms exist\n',
    );
    expect(cloudWatch.callsOf('DescribeAlarms')).toHaveLength(0);
  });

  it.each(['AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'])(
    'asks CloudWatch when %s is the only credential source set',
    async (variable) => {
      knownAlarms({ 'web-5xx': 'OK' });
      const { io } = cliIO({ env: { [variable]: 'x' } });
      await builtin.run(['--config', config({ gates: { type: 'alarms', names: ['web-5xx'] } })], io);
      expect(cloudWatch.callsOf('DescribeAlarms')).toHaveLength(1);
    },
  );
});

describe('greenlight validate output', () => {
  it.each([
    ['plain', false],
    ['tty', true],
  ])('pins every kind of line, in config order (%s)', async (kind, tty) => {
    knownAlarms({ 'web-5xx': 'OK' });
    const { io, stdout } = cliIO({ env: withCredentials, tty });
    const path = join(dir, 'golden-mixed.yml');
    const inline = JSON.stringify(SCHEMA_CONTRACT);
    writeFileSync(
      path,
      [
        `targets: { test: "${live}", prod: "${live}" }`,
        'checks:',
        `  db: { type: schema, url: "postgres://greenlight_ro@127.0.0.1:5432/test", contracts: { green: { inline: ${inline} }, blue: { target: prod } } }`,
        `  legacy: { type: schema, url: "postgres://greenlight_ro@127.0.0.1:5432/test", contracts: { green: { inline: ${inline} }, blue: { target: prod, optional: true } } }`,
        '  gates: { type: alarms, names: [web-5xx, web-5xz] }',
        'hooks: { AfterAllowTestTraffic: [db, legacy, gates] }',
        '',
      ].join('\n'),
    );
    expect(await builtin.run(['--config', path], io)).toBe(EXIT_FAILED);
    expectGolden(`validate-mixed.${kind}.txt`, normalise(stdout()).replaceAll(dir, '<dir>'));
  });
});

describe('greenlight validate: VPC endpoints', () => {
  // The hooks' own resolvers read the referenced parameter, here from a local SSM.
  const ssm = new AwsJsonServer({ targetPrefix: 'AmazonSSM', contentType: 'application/x-amz-json-1.1' });
  beforeAll(async () => {
    process.env.AWS_ENDPOINT_URL_SSM = await ssm.start();
    ssm.on('GetParameter', ({ body }) => ({
      body: { Parameter: { Name: body.Name, Type: 'SecureString', Value: 'smoke-t0ken', Version: 1 } },
    }));
  });
  afterAll(async () => {
    await ssm.stop();
    delete process.env.AWS_ENDPOINT_URL_SSM;
  });
  const env = { AWS_REGION: 'eu-west-1' };
  const every = () =>
    file(
      [
        `targets: { test: "${live}" }`,
        'checks:',
        `  smoke: { type: http, requests: [{ path: /health, headers: { authorization: "Bearer \${ssm:/web/smoke-token}" } }] }`,
        '  gates: { type: alarms, names: [web-5xx] }',
        '  latency: { type: metrics, queries: [{ id: cpu, metric: { namespace: AWS/ECS, name: CPUUtilization }, stat: p90 }], condition: { aggregate: avg, below: 80 } }',
        '  tg: { type: target-groups, discover: true }',
        '  # ${secretsmanager:only/in/a/comment}',
        'hooks: { AfterAllowTestTraffic: [smoke, latency, tg], BeforeAllowTraffic: [gates] }',
        '',
      ].join('\n'),
    );

  it.each([
    ['plain', false],
    ['tty', true],
  ])('names each endpoint the configured checks need, and why (%s)', async (kind, tty) => {
    const { io, stdout } = cliIO({ env, tty });

    const code = await builtin.run(
      ['--config', every(), '--subnet-ids', 'subnet-0a1b2c3d,subnet-4e5f6a7b'],
      io,
    );

    expect(code).toBe(EXIT_OK);
    expectGolden(
      `validate-endpoints.${kind}.txt`,
      normalise(stdout())
        .replace(/c[a-z0-9]+\.yml/, '<config>.yml')
        .replaceAll(dir, '<dir>'),
    );
  });

  it('names only CodeDeploy for checks that call no AWS service', async () => {
    const { io, stdout } = cliIO({ env });

    await command.run(
      [
        '--config',
        config({ smoke: { type: 'scripted', behaviour: 'pass' } }),
        '--subnet-ids',
        'subnet-0a1b2c3d',
      ],
      io,
    );

    expect(
      stdout()
        .split('\n')
        .filter((l) => l.startsWith('note')),
    ).toEqual([
      'note hooks in subnet-0a1b2c3d reach AWS through a NAT gateway or these VPC interface endpoints (a call with neither hangs until the hook times out):',
      'note com.amazonaws.eu-west-1.codedeploy: the verdict report',
    ]);
  });

  it('names S3 for the statements and migrations a migration rehearsal reads there', async () => {
    const { io, stdout } = cliIO({ env });

    await builtin.run(
      [
        '--config',
        file(
          [
            'targets: { test: "http://127.0.0.1:9" }',
            'checks:',
            '  rehearse:',
            '    type: migration-rehearsal',
            '    url: postgres://greenlight_ro@db.internal:5432/app',
            '    migrations: s3://deploy-artifacts/web/migrations/',
            '    statements: { recorded: s3://deploy-artifacts/web/blue-statements.json }',
            'hooks: { BeforeInstall: [rehearse] }',
          ].join('\n'),
        ),
        '--subnet-ids',
        'subnet-0a1b2c3d',
      ],
      io,
    );

    expect(
      stdout()
        .split('\n')
        .filter((l) => l.startsWith('note com.amazonaws')),
    ).toEqual([
      'note com.amazonaws.eu-west-1.codedeploy: the verdict report',
      'note com.amazonaws.eu-west-1.s3: migration-rehearsal check rehearse (statements.recorded); migration-rehearsal check rehearse (migrations)',
    ]);
  });

  it('names the SNS and EventBridge endpoints that notifications need', async () => {
    const { io, stdout } = cliIO({ env });

    await command.run(
      [
        '--config',
        file(
          [
            'targets: { test: "http://127.0.0.1:9" }',
            'checks: { smoke: { type: scripted, behaviour: pass } }',
            'hooks: { AfterAllowTestTraffic: [smoke] }',
            'notify:',
            '  sns: [{ topicArn: "arn:aws:sns:eu-west-1:123456789012:deployments" }]',
            '  eventbridge: [{}]',
            '  slack: [{ webhookUrl: "https://hooks.slack.com/services/T/B/X" }]',
          ].join('\n'),
        ),
        '--subnet-ids',
        'subnet-0a1b2c3d',
      ],
      io,
    );

    expect(
      stdout()
        .split('\n')
        .filter((l) => l.startsWith('note com.amazonaws')),
    ).toEqual([
      'note com.amazonaws.eu-west-1.codedeploy: the verdict report',
      'note com.amazonaws.eu-west-1.sns: notify.sns',
      'note com.amazonaws.eu-west-1.events: notify.eventbridge',
    ]);
  });

  it.each([
    [
      ['--subnet-ids', 'sg-0a1b2c3d'],
      '--subnet-ids: expected subnet ids such as subnet-0a1b2c3d, comma-separated, got "sg-0a1b2c3d"',
    ],
    [
      ['--subnet-ids', ','],
      '--subnet-ids: expected subnet ids such as subnet-0a1b2c3d, comma-separated, got ","',
    ],
  ])('exits 2 naming the option for %j', async (args, message) => {
    const { io, stderr } = cliIO({ env });

    expect(await builtin.run(['--config', every(), ...args], io)).toBe(EXIT_USAGE);
    expect(stderr()).toContain(`greenlight validate: ${message}\n`);
  });
});
