// `greenlight check` and `validate` resolve what the hooks resolve, with the caller's credentials:
// secret references and `auto` targets, against moto_server (real AWS wire protocols).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../bin/command';
import { createCheckCommand } from '../../bin/commands/check';
import { createValidateCommand } from '../../bin/commands/validate';
import { blueGreenDeployment, forwardTestListener, type BlueGreenWorld } from '../support/aws-world';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { startMoto, type Moto } from '../support/moto-server';
import { scriptedCheckType } from '../support/test-check-types';
import { cliIO } from './cli-io';

jest.setTimeout(60_000);

const SMOKE_TOKEN = 'ssm-smoke-7f3e2d1c';
const API_KEY = 'sm-api-key-9d8c7b6a';
const dir = mkdtempSync(join(tmpdir(), 'greenlight-cli-aws-'));
let moto: Moto;
let app: TestServer;
let world: BlueGreenWorld;

beforeAll(async () => {
  moto = await startMoto();
  // The caller's AWS configuration, as a user's shell would have it (credentials come from test/support/env.ts).
  process.env.AWS_ENDPOINT_URL_SSM = moto.url;
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = moto.url;
  process.env.AWS_ENDPOINT_URL_ECS = moto.url;
  process.env.AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2 = moto.url;
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = moto.codeDeployUrl;
  const endpoint = { endpoint: moto.url };
  await new SSMClient(endpoint).send(
    new PutParameterCommand({ Name: '/web/smoke-token', Type: 'SecureString', Value: SMOKE_TOKEN }),
  );
  await new SecretsManagerClient(endpoint).send(
    new CreateSecretCommand({ Name: 'prod/web/api', SecretString: JSON.stringify({ key: API_KEY }) }),
  );
  // An ECS service under CodeDeploy blue/green with its ALB, and a deployment whose task set is green.
  world = await blueGreenDeployment(moto.url, 'web');
  // Green answers 200 only to a request that carries both secrets.
  app = await startHttpServer((req, res) => {
    const ok = req.headers.authorization === `Bearer ${SMOKE_TOKEN}` && req.headers['x-api-key'] === API_KEY;
    res.writeHead(ok ? 200 : 401).end(ok ? 'ok' : 'who are you?');
  });
});

afterAll(async () => {
  await app?.close();
  await moto?.stop();
  for (const service of ['SSM', 'SECRETS_MANAGER', 'ECS', 'ELASTIC_LOAD_BALANCING_V2', 'CODEDEPLOY'])
    delete process.env[`AWS_ENDPOINT_URL_${service}`];
  rmSync(dir, { recursive: true, force: true });
});

function configFile(text: string): string {
  const path = join(dir, `greenlight-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(path, text);
  return path;
}

const withSecrets = (token = '/web/smoke-token') =>
  configFile(`targets: { test: "${app.url}" }
checks:
  smoke:
    type: http
    requests:
      - path: /health
        headers: { authorization: "Bearer \${ssm:${token}}", x-api-key: "\${secretsmanager:prod/web/api#key}" }
        expect: { status: 200 }
hooks: { AfterAllowTestTraffic: [smoke] }
`);

const AUTO = `targets: { test: auto, prod: auto }
checks: { smoke: { type: scripted, behaviour: pass } }
hooks: { AfterAllowTestTraffic: [smoke] }
`;

const check = createCheckCommand();
const scriptedCheck = createCheckCommand({ checkTypes: [scriptedCheckType] });
const validate = createValidateCommand();
const scriptedValidate = createValidateCommand({ checkTypes: [scriptedCheckType] });

describe('secret references in the CLI', () => {
  it("check resolves ${ssm:...} and ${secretsmanager:...} with the caller's credentials, as the hooks do", async () => {
    const { io, stdout } = cliIO();

    const code = await check.run(['--config', withSecrets()], io);

    expect(stdout()).toContain('Succeeded');
    expect(code).toBe(EXIT_OK);
    expect(app.requests.at(-1)!.headers['x-api-key']).toBe(API_KEY);
    expect(stdout()).not.toContain(SMOKE_TOKEN);
    expect(stdout()).not.toContain(API_KEY);
  });

  it('validate resolves them too, and the config is valid', async () => {
    const { io, stdout } = cliIO();

    const code = await validate.run(['--config', withSecrets()], io);

    expect(stdout()).toMatch(/^ok {3}config .* is valid: 1 check at 1 lifecycle event$/m);
    expect(code).toBe(EXIT_OK);
  });

  it.each([
    ['check', check],
    ['validate', validate],
  ])('%s names the path and the parameter that does not exist', async (_name, command) => {
    const { io, stdout, stderr } = cliIO();

    const code = await command.run(['--config', withSecrets('/web/missing')], io);

    expect(code).toBe(EXIT_USAGE);
    expect(stdout() + stderr()).toContain(
      'checks.smoke.requests[0].headers.authorization: could not resolve ${ssm:/web/missing}: SSM parameter /web/missing does not exist',
    );
  });
});

describe('auto targets in the CLI', () => {
  it.each([
    ['check', scriptedCheck, ' (or give the URL with --test-url / --prod-url)'],
    ['validate', scriptedValidate, ''],
  ])('%s without --deployment-id is a usage error saying to pass one', async (name, command, more) => {
    const { io, stderr } = cliIO();

    const code = await command.run(['--config', configFile(AUTO)], io);

    expect(code).toBe(EXIT_USAGE);
    expect(stderr()).toBe(
      `greenlight ${name}: targets.test, targets.prod are "auto", found from a CodeDeploy deployment: pass --deployment-id d-XXXXXXXXX${more}\nusage: ${command.usage.split('\n')[0]}\n`,
    );
  });

  it('check --deployment-id runs the checks against the listeners discovered from the deployment', async () => {
    const { io, stdout } = cliIO();

    const code = await scriptedCheck.run(
      ['--config', configFile(AUTO), '--deployment-id', world.deploymentId, '--json'],
      io,
    );

    const doc = JSON.parse(stdout()) as { status: string; targets: Record<string, string> };
    expect(doc.targets).toEqual({ test: `http://${world.dnsName}:8080/`, prod: `http://${world.dnsName}/` });
    expect(doc.status).toBe('Succeeded');
    expect(code).toBe(EXIT_OK);
  });

  it('check --deployment-id fails, as the hook would, when the test listener does not forward to green', async () => {
    await forwardTestListener(moto.url, world, world.blueTargetGroupArn);
    try {
      const { io, stdout } = cliIO();

      const code = await scriptedCheck.run(
        ['--config', configFile(AUTO), '--deployment-id', world.deploymentId],
        io,
      );

      expect(code).toBe(EXIT_FAILED);
      expect(stdout()).toContain(
        `discovery failed: test listener http://${world.dnsName}:8080/ (HTTP:8080) forwards to web-blue, expected web-green`,
      );
    } finally {
      await forwardTestListener(moto.url, world, world.greenTargetGroupArn);
    }
  });

  it('check --deployment-id names the AWS error for a deployment that does not exist', async () => {
    const { io, stdout } = cliIO();

    const code = await scriptedCheck.run(
      ['--config', configFile(AUTO), '--deployment-id', 'd-NOSUCH123'],
      io,
    );

    expect(code).toBe(EXIT_FAILED);
    expect(stdout()).toMatch(
      /discovery error: discovery of deployment d-NOSUCH123: CodeDeploy GetDeployment d-NOSUCH123 failed: /,
    );
  });

  it('validate --deployment-id names the discovered listeners before probing them', async () => {
    const { io, stdout } = cliIO();

    await scriptedValidate.run(['--config', configFile(AUTO), '--deployment-id', world.deploymentId], io);

    expect(stdout()).toContain(
      `ok   targets of deployment ${world.deploymentId}: test http://${world.dnsName}:8080/, prod http://${world.dnsName}/ (found the listeners of deployment group web-app/web-dg (not verified at this event))\n`,
    );
    expect(stdout()).toContain(`target test http://${world.dnsName}:8080/ `);
    expect(stdout()).not.toContain('auto.greenlight.invalid');
  });
});
