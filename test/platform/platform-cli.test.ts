// `greenlight publish` and `greenlight break-glass` against moto's S3 and SSM, through the real clients.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { EXIT_OK, EXIT_USAGE } from '../../bin/command';
import { createBreakGlassCommand } from '../../bin/commands/break-glass';
import { createPublishCommand } from '../../bin/commands/publish';
import { parseBreakGlassRecord } from '../../hooks/break-glass';
import { resetSecretSources } from '../../config/secret-resolvers';
import { cliIO } from '../cli/cli-io';
import { secret } from '../support/aws-world';
import { closeConfigStore, openConfigStore } from '../support/config-store';
import { MotoServer } from '../support/moto-server';
import { scriptedCheckType } from '../support/test-check-types';

jest.setTimeout(60_000);

const moto = new MotoServer();
const BUCKET = 'publish-configs';
const TO = `s3://${BUCKET}/greenlight/{application}/{deploymentGroup}.yml`;
const dir = mkdtempSync(join(tmpdir(), 'greenlight-publish-'));
let s3: S3Client;
let ssm: SSMClient;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const url = await moto.start();
  ({ s3, ssm, env } = await openConfigStore(url, BUCKET));
  await secret(url, 'greenlight/web/token', { value: 'web-token-123' });
  await secret(url, 'greenlight/billing/token', { value: 'billing-token-456' });
});

afterAll(async () => {
  await moto.stop();
  resetSecretSources();
  closeConfigStore({ env });
  rmSync(dir, { recursive: true, force: true });
});

function configFile(reference: string, host = '127.0.0.1', behaviour = 'pass'): string {
  const path = join(dir, `greenlight-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(
    path,
    `targets: { test: "http://${host}:8080" }
checks:
  smoke: { type: scripted, behaviour: ${behaviour}, message: "\${${reference}}" }
hooks:
  AfterAllowTestTraffic: [smoke]
`,
  );
  return path;
}

const publish = createPublishCommand({ checkTypes: [scriptedCheckType] });

async function published(key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return await out.Body!.transformToString();
  } catch {
    return undefined;
  }
}

describe('greenlight publish', () => {
  it('uploads a valid config to the service’s own location', async () => {
    const path = configFile('secretsmanager:greenlight/web/token#value');
    const { io, stdout } = cliIO({ env });
    const args = ['--config', path, '--to', TO, '--application', 'web', '--deployment-group', 'web-prod'];
    const code = await publish.run([...args, '--allowed-hosts', '127.0.0.1'], io);
    expect(stdout()).toMatch(
      /published s3:\/\/publish-configs\/greenlight\/web\/web-prod\.yml \(ETag "\w+"\)/,
    );
    expect(code).toBe(EXIT_OK);
    expect(await published('greenlight/web/web-prod.yml')).toContain(
      'secretsmanager:greenlight/web/token#value',
    );
    expect(stdout()).not.toContain('web-token-123');
  });

  it.each([
    [
      'another service’s secret',
      configFile('secretsmanager:greenlight/billing/token#value'),
      'is outside greenlight/web/',
    ],
    [
      'a host off the allow-list',
      configFile('secretsmanager:greenlight/web/token#value', '10.9.8.7'),
      'host 10.9.8.7',
    ],
    [
      'a config the schema refuses',
      configFile('secretsmanager:greenlight/web/token#value', '127.0.0.1', 'maybe'),
      'checks.smoke.behaviour: expected one of',
    ],
  ])('refuses %s and uploads nothing', async (_, path, why) => {
    const { io, stdout, stderr } = cliIO({ env });
    const code = await publish.run(
      [
        '--config',
        path,
        '--to',
        TO,
        '--application',
        'web',
        '--deployment-group',
        'refused',
        '--allowed-hosts',
        '127.0.0.1',
      ],
      io,
    );
    expect(code).toBe(EXIT_USAGE);
    expect(stdout() + stderr()).toContain(why);
    expect(await published('greenlight/web/refused.yml')).toBeUndefined();
  });

  it('writes an SSM location as a parameter, for an ECS service', async () => {
    const path = join(dir, 'cart.yml');
    writeFileSync(path, 'targets: { test: auto }\nchecks: {}\n');
    const { io, stdout } = cliIO({ env });
    const code = await publish.run(
      [
        '--config',
        path,
        '--to',
        'ssm:/greenlight/configs/{cluster}/{service}',
        '--cluster',
        'shop',
        '--service',
        'cart',
      ],
      io,
    );
    expect(code).toBe(EXIT_OK);
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/greenlight/configs/shop/cart' }));
    expect(Parameter?.Value).toContain('targets: { test: auto }');
    // The version SSM gave the write: 1, unless the SDK sent the PutParameter again after an answer
    // slower than its request timeout (moto on a loaded machine), when both writes land.
    const printed = /published ssm:\/greenlight\/configs\/shop\/cart \(version (\d+)\)/.exec(stdout());
    expect(printed).not.toBeNull();
    expect(Number(printed![1])).toBeGreaterThanOrEqual(1);
    expect(Number(printed![1])).toBeLessThanOrEqual(Parameter!.Version!);
  });
});

describe('greenlight break-glass', () => {
  const now = Date.parse('2026-12-06T10:00:00Z');
  const command = createBreakGlassCommand({ now: () => now });

  it('writes a record for one deployment that the hooks accept, with an expiry', async () => {
    const { io, stdout } = cliIO({ env: { ...env, USER: 'alice' } });
    const code = await command.run(
      [
        '--deployment-id',
        'd-ABCDEFGH1',
        '--hook',
        'AfterAllowTestTraffic',
        '--expires-in',
        '2h',
        '--reason',
        'INC-9',
      ],
      io,
    );
    expect(stdout()).toBe(
      'set /greenlight-break-glass/d-ABCDEFGH1: AfterAllowTestTraffic of d-ABCDEFGH1 passes without checks until 2026-12-06T12:00:00.000Z\n',
    );
    expect(code).toBe(EXIT_OK);
    const { Parameter } = await ssm.send(
      new GetParameterCommand({ Name: '/greenlight-break-glass/d-ABCDEFGH1' }),
    );
    expect(parseBreakGlassRecord(Parameter!.Value!)).toEqual({
      deployment: 'd-ABCDEFGH1',
      hooks: ['AfterAllowTestTraffic'],
      expiresAt: '2026-12-06T12:00:00.000Z',
      reason: 'INC-9',
      setBy: 'alice',
      setAt: '2026-12-06T10:00:00.000Z',
    });

    const cleared = cliIO({ env });
    expect(await command.run(['--deployment-id', 'd-ABCDEFGH1', '--clear'], cleared.io)).toBe(EXIT_OK);
    await expect(
      ssm.send(new GetParameterCommand({ Name: '/greenlight-break-glass/d-ABCDEFGH1' })),
    ).rejects.toThrow();
  });

  it.each([
    [['--deployment-id', 'd-ABCDEFGH1', '--reason', 'x', '--expires-in', '48h'], 'at most 24h'],
    [['--deployment-id', 'd-ABCDEFGH1'], '--reason is required'],
    [['--reason', 'x'], 'name exactly one deployment'],
    [['--deployment-id', '*', '--reason', 'x'], 'must be a deployment id'],
    [
      ['--deployment-id', 'd-ABCDEFGH1', '--reason', 'x', '--hook', 'Install'],
      '--hook Install is not a lifecycle event',
    ],
  ])('refuses %j', async (args, why) => {
    const { io, stderr } = cliIO({ env });
    expect(await command.run(args, io)).toBe(EXIT_USAGE);
    expect(stderr()).toContain(why);
  });
});
