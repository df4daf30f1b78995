import { parseConfig } from '../../config/config';
import { ConfigError } from '../../lib/errors';
import { createLogger } from '../../lib/log';
import { clearRegisteredSecrets, redact, REDACTED } from '../../lib/redact';
import { resetSecretSources, secretResolvers } from '../../config/secret-resolvers';
import { AwsJsonServer } from '../support/aws-json-server';
import { scriptedCheckType } from '../support/test-check-types';

const DB_SECRET = JSON.stringify({ username: 'app_reader', password: 'Pa55-w0rd-from-sm', port: 5432 });
const API_TOKEN = 'tok_live_9d8c7b6a5f4e';
const SMOKE_TOKEN = 'ssm-smoke-7f3e2d1c';

const secretsManager = new AwsJsonServer({
  targetPrefix: 'secretsmanager',
  contentType: 'application/x-amz-json-1.1',
});
const ssm = new AwsJsonServer({ targetPrefix: 'AmazonSSM', contentType: 'application/x-amz-json-1.1' });

function scriptStores(): void {
  secretsManager.on('GetSecretValue', ({ body }) => {
    const stored: Record<string, string> = { 'prod/web/db': DB_SECRET, 'prod/web/api-token': API_TOKEN };
    const value = stored[String(body.SecretId)];
    if (value === undefined)
      return {
        error: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      };
    return {
      body: {
        ARN: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${body.SecretId}-AbCdEf`,
        Name: body.SecretId,
        SecretString: value,
      },
    };
  });
  ssm.on('GetParameter', ({ body }) => {
    if (body.Name !== '/web/smoke-token') return { error: 'ParameterNotFound', message: '' };
    return { body: { Parameter: { Name: body.Name, Type: 'SecureString', Value: SMOKE_TOKEN, Version: 3 } } };
  });
}

function configText(message: string, extra = ''): string {
  return `targets: { test: "http://127.0.0.1:1" }\nchecks:\n  smoke: { type: scripted, behaviour: pass, message: "${message}" }\n${extra}hooks:\n  AfterAllowTestTraffic: [smoke]\n`;
}

const load = (text: string, resolvers = secretResolvers()) =>
  parseConfig(text, { checkTypes: [scriptedCheckType], resolvers, env: {} });

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = await secretsManager.start();
  process.env.AWS_ENDPOINT_URL_SSM = await ssm.start();
});

afterAll(async () => {
  await Promise.all([secretsManager.stop(), ssm.stop()]);
  delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  delete process.env.AWS_ENDPOINT_URL_SSM;
});

beforeEach(() => {
  secretsManager.reset();
  ssm.reset();
  scriptStores();
  resetSecretSources();
  clearRegisteredSecrets();
});

describe('secret references over the wire', () => {
  it.each([
    ['${secretsmanager:prod/web/db#password}', 'Pa55-w0rd-from-sm'],
    ['${secretsmanager:prod/web/db#port}', '5432'],
    ['${secretsmanager:prod/web/api-token}', API_TOKEN],
    ['Bearer ${ssm:/web/smoke-token}', `Bearer ${SMOKE_TOKEN}`],
  ])('resolves %s', async (reference, expected) => {
    const loaded = await load(configText(reference));

    expect((loaded.config.checks.smoke as unknown as { message?: string }).message).toBe(expected);
  });

  it('asks SSM to decrypt SecureString parameters', async () => {
    await load(configText('${ssm:/web/smoke-token}'));

    expect(ssm.callsOf('GetParameter').map((c) => c.body)).toEqual([
      { Name: '/web/smoke-token', WithDecryption: true },
    ]);
  });

  it('fetches a secret once for several keys and for a second load in the same container', async () => {
    const resolvers = secretResolvers();
    const text = configText('${secretsmanager:prod/web/db#username}:${secretsmanager:prod/web/db#password}');

    await load(text, resolvers);
    await load(text, resolvers);

    expect(secretsManager.callsOf('GetSecretValue')).toHaveLength(1);
  });

  it('keeps every resolved value out of log lines and redacted output', async () => {
    const loaded = await load(
      configText(
        '${secretsmanager:prod/web/db#password} ${ssm:/web/smoke-token} ${secretsmanager:prod/web/api-token}',
      ),
    );
    const message = (loaded.config.checks.smoke as unknown as { message: string }).message;
    const written: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const previous = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    try {
      createLogger().info(`check message: ${message}`, { resolved: message, username: 'app_reader' });
    } finally {
      spy.mockRestore();
      process.env.POWERTOOLS_LOG_LEVEL = previous;
    }

    const output = written.join('');
    expect(output).toContain('check message:');
    for (const secret of ['Pa55-w0rd-from-sm', SMOKE_TOKEN, API_TOKEN]) expect(output).not.toContain(secret);
    expect(redact({ message })).toEqual({ message: `${REDACTED} ${REDACTED} ${REDACTED}` });
  });

  it.each([
    [
      'a missing secret',
      '${secretsmanager:prod/web/nope#password}',
      'checks.smoke.message: could not resolve ${secretsmanager:prod/web/nope#password}: secret prod/web/nope does not exist',
    ],
    [
      'a missing key',
      '${secretsmanager:prod/web/db#pasword}',
      'checks.smoke.message: could not resolve ${secretsmanager:prod/web/db#pasword}: secret prod/web/db has no key "pasword" (keys: username, password, port)',
    ],
    [
      'a key in a secret that is not JSON',
      '${secretsmanager:prod/web/api-token#value}',
      'checks.smoke.message: could not resolve ${secretsmanager:prod/web/api-token#value}: secret prod/web/api-token is not a JSON object, so it has no key "value"',
    ],
    [
      'a missing parameter',
      '${ssm:/web/nope}',
      'checks.smoke.message: could not resolve ${ssm:/web/nope}: SSM parameter /web/nope does not exist',
    ],
  ])('makes %s a config error naming the path and the reference', async (_what, reference, message) => {
    const error = await load(configText(reference)).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(message);
  });

  it('names AccessDenied, without the value of any secret, when the role may not read a secret', async () => {
    secretsManager.on('GetSecretValue', () => ({
      error: 'AccessDeniedException',
      message: 'User is not authorized to perform: secretsmanager:GetSecretValue',
    }));

    const error = (await load(configText('${secretsmanager:prod/web/db#password}')).catch(
      (err: unknown) => err,
    )) as ConfigError;

    expect(error.message).toBe(
      'checks.smoke.message: could not resolve ${secretsmanager:prod/web/db#password}: AccessDeniedException: User is not authorized to perform: secretsmanager:GetSecretValue',
    );
  });
});
