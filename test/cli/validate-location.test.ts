// `greenlight validate --location`: the config a platform hook would read for one service, read
// from moto's S3 and SSM through the hooks' own reader and loaded under the same tenant rules,
// then probed as any config is (its targets answer, here a loopback server).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EXIT_OK, EXIT_USAGE } from '../../bin/command';
import { createPublishCommand } from '../../bin/commands/publish';
import { createValidateCommand } from '../../bin/commands/validate';
import { resetSecretSources } from '../../config/secret-resolvers';
import { secret } from '../support/aws-world';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { closeConfigStore, openConfigStore } from '../support/config-store';
import { MotoServer } from '../support/moto-server';
import { scriptedCheckType } from '../support/test-check-types';
import { cliIO, normalise } from './cli-io';
import { expectGolden } from './golden';

jest.setTimeout(60_000);

const moto = new MotoServer();
const BUCKET = 'validate-location';
const LOCATION = `s3://${BUCKET}/greenlight/{application}/{deploymentGroup}.yml`;
const dir = mkdtempSync(join(tmpdir(), 'greenlight-validate-location-'));
let s3: S3Client;
let ssm: SSMClient;
let green: TestServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const url = await moto.start();
  ({ s3, ssm, env } = await openConfigStore(url, BUCKET));
  await secret(url, 'greenlight/web/token', { value: 'web-token-8841' });
  await secret(url, 'greenlight/billing/token', { value: 'billing-token-8842' });
  green = await startHttpServer((_req, res) => res.writeHead(204).end());
});

afterAll(async () => {
  await green?.close();
  await moto.stop();
  resetSecretSources();
  closeConfigStore({ env });
  rmSync(dir, { recursive: true, force: true });
});

const validate = createValidateCommand({ checkTypes: [scriptedCheckType] });

function config(
  options: { reference?: string; host?: string; behaviour?: string; notify?: string } = {},
): string {
  const {
    reference = 'secretsmanager:greenlight/web/token#value',
    host = '127.0.0.1',
    behaviour = 'pass',
  } = options;
  const target = host === '127.0.0.1' ? green.url : `http://${host}:8080`;
  return `targets: { test: "${target}" }
checks:
  smoke: { type: scripted, behaviour: ${behaviour}, message: "\${${reference}}" }
hooks:
  AfterAllowTestTraffic: [smoke]
${options.notify ?? ''}`;
}

async function putS3(application: string, group: string, text: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: `greenlight/${application}/${group}.yml`, Body: text }),
  );
}

async function run(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const { io, stdout, stderr } = cliIO({ env: { ...env, ...extraEnv } });
  const code = await validate.run(args, io);
  return { code, stdout: stdout(), stderr: stderr() };
}

const web = ['--location', LOCATION, '--application', 'web', '--deployment-group'];

describe('greenlight validate --location', () => {
  it('reads the service’s config from S3 as the platform hook would, keeps the tenant rules, and probes its targets', async () => {
    await putS3(
      'web',
      'web-prod',
      config({
        notify: `notify:
  webhook: [{ url: "https://hooks.acme.example/greenlight?key=hook-credential-5", secret: "0123456789abcdef" }]
`,
      }),
    );
    const result = await run([...web, 'web-prod', '--allowed-hosts', '127.0.0.1'], {
      // Read from the same variables the platform hooks read, when no flag gives them.
      GREENLIGHT_ALLOWED_NOTIFY_HOSTS: 'hooks.acme.example',
    });
    expect(result.stderr).toBe('');
    expectGolden('validate-location.plain.txt', normalise(result.stdout));
    expect(result.code).toBe(EXIT_OK);
    expect(result.stdout).not.toContain('web-token-8841');
    expect(result.stdout).not.toContain('hook-credential-5');
  });

  it('reads an ECS service’s config from SSM by cluster, service and a hook detail', async () => {
    await ssm.send(
      new PutParameterCommand({
        Name: '/greenlight/configs/shop/cart/prod',
        Type: 'String',
        Value: config({ reference: 'env:X' }),
      }),
    );
    const args = [
      '--location',
      'ssm:/greenlight/configs/{cluster}/{service}/{hookDetails.env}',
      '--cluster',
      'shop',
      '--service',
      'cart',
      '--hook-detail',
      'env=prod',
      '--allowed-hosts',
      '127.0.0.1',
    ];
    // The platform function's environment is not the service's: ${env:...} is refused ...
    const refused = await run(args, { X: 'from-the-caller' });
    expect(refused.code).toBe(EXIT_USAGE);
    expect(refused.stdout).toContain(
      'FAIL config: ssm:/greenlight/configs/shop/cart/prod: checks.smoke.message: could not resolve ${env:X}: tenant rule "no ${env:...} in a platform config"',
    );
    expect(refused.stdout).toContain('put the value in the config or under greenlight/cart/');

    // ... unless the stack is not a platform stack.
    const plain = await run([...args, '--without-tenant-rules'], { X: 'from-the-caller' });
    expect(plain.stdout).toContain('ok   config ssm:/greenlight/configs/shop/cart/prod is valid: 1 check');
    expect(plain.code).toBe(EXIT_OK);
  });

  it.each([
    [
      'another service’s secret',
      () => config({ reference: 'secretsmanager:greenlight/billing/token#value' }),
      [],
      'FAIL config: s3://validate-location/greenlight/web/case-1.yml: checks.smoke.message: could not resolve ${secretsmanager:greenlight/billing/token#value}: tenant rule "secrets and parameters under the service’s own prefix"',
    ],
    [
      'a host off the allow-list',
      () => config({ host: '10.9.8.7' }),
      [],
      'FAIL config: s3://validate-location/greenlight/web/case-2.yml: targets.test: tenant rule "hosts on the platform’s allow-list": host 10.9.8.7',
    ],
    [
      'a webhook off the notification allow-list',
      () =>
        config({
          notify: `notify:\n  webhook: [{ url: "https://10.0.0.5/x?key=hook-credential-6", secret: "0123456789abcdef" }]\n`,
        }),
      ['--allowed-notify-hosts', '*.acme.example'],
      `FAIL config: s3://validate-location/greenlight/web/case-3.yml: notify.webhook[0].url: tenant rule "notification endpoints on the platform’s allow-list": a webhook on 10.0.0.5 is not on the platform's notification allow-list (allowedNotifyHosts: *.acme.example)`,
    ],
    [
      'an SNS topic the platform does not list for the service',
      () =>
        config({
          notify: `notify:\n  sns: [{ topicArn: "arn:aws:sns:eu-west-1:123456789012:deploys-billing" }]\n`,
        }),
      ['--allowed-notify-topics', 'deploys-{application}'],
      'FAIL config: s3://validate-location/greenlight/web/case-4.yml: notify.sns[0].topicArn: tenant rule "SNS topics and event buses the platform lists": topic arn:aws:sns:eu-west-1:123456789012:deploys-billing is not one the platform lets application web publish to (allowedNotifyTopics: deploys-web)',
    ],
    [
      'a config the schema refuses',
      () => config({ behaviour: 'maybe' }),
      [],
      'FAIL config: s3://validate-location/greenlight/web/case-5.yml: checks.smoke.behaviour: expected one of',
    ],
  ])('refuses %s, naming the source, the field and the rule', async (_, text, flags, message) => {
    const group = `case-${message.match(/case-(\d)/)![1]}`;
    await putS3('web', group, text());
    const result = await run([...web, group, '--allowed-hosts', '127.0.0.1', ...flags]);
    expect(result.stdout).toContain(message);
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stdout).not.toMatch(/token-884\d|hook-credential/);
  });

  it('names the location when the service has no config there', async () => {
    const result = await run([...web, 'nowhere']);
    expect(result.stdout).toBe(
      `FAIL config: config s3://${BUCKET}/greenlight/web/nowhere.yml does not exist (NoSuchKey)\n`,
    );
    expect(result.code).toBe(EXIT_USAGE);
  });

  it('accepts what `greenlight publish` uploaded, by the same rules', async () => {
    const path = join(dir, 'web.yml');
    writeFileSync(path, config());
    const published = cliIO({ env });
    const publish = createPublishCommand({ checkTypes: [scriptedCheckType] });
    const flags = ['--application', 'web', '--deployment-group', 'published', '--allowed-hosts', '127.0.0.1'];
    expect(await publish.run(['--config', path, '--to', LOCATION, ...flags], published.io)).toBe(EXIT_OK);
    const result = await run(['--location', LOCATION, ...flags]);
    expect(result.stdout).toContain(
      `ok   config s3://${BUCKET}/greenlight/web/published.yml is valid for application web under the platform's tenant rules`,
    );
    expect(result.code).toBe(EXIT_OK);
  });

  it.each([
    [
      ['--location', 'greenlight.yml', '--application', 'a', '--deployment-group', 'g'],
      '--location must be an s3://',
    ],
    [['--location', LOCATION, '--config', 'greenlight.yml'], '--config reads a file and --location'],
    [['--location', LOCATION], 'name the service: --application and --deployment-group'],
    [['--location', LOCATION, '--cluster', 'shop'], '--cluster and --service go together'],
    [[...web, 'g', '--hook-detail', 'env'], '--hook-detail expects NAME=VALUE'],
  ])('refuses %j as a usage error', async (args, message) => {
    const result = await run(args);
    expect(result.stderr).toContain(`greenlight validate: ${message}`);
    expect(result.code).toBe(EXIT_USAGE);
  });

  it('names the placeholder a service cannot fill', async () => {
    const result = await run([
      '--location',
      'ssm:/greenlight/{cluster}/{service}/{hookDetails.env}',
      '--cluster',
      'shop',
      '--service',
      'cart',
    ]);
    expect(result.stdout).toBe(
      `FAIL config: ssm:/greenlight/{cluster}/{service}/{hookDetails.env}: {hookDetails.env} cannot be filled: the hook's hookDetails have no string "env"\n`,
    );
    expect(result.code).toBe(EXIT_USAGE);
  });
});
