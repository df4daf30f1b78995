/**
 * `${secretsmanager:ID}`, `${secretsmanager:ID#jsonKey}` and `${ssm:/name}` references in
 * greenlight.yml, for `loadConfig(path, { resolvers: secretResolvers() })`.
 *
 * - `ID` is a secret name or ARN; with `#jsonKey` the secret string is parsed as a JSON object
 *   and that key's value is used (a secret stored as key/value pairs in the console).
 * - `/name` is an SSM parameter name (or ARN); SecureString values are decrypted.
 * - Values are fetched through Powertools Parameters and cached per container (`maxAgeSeconds`,
 *   default 15 minutes), so several references to one secret cost one call.
 * - Every resolved value is registered with lib/redact.ts, so it never reaches a log line,
 *   a result or an error message.
 * - A missing secret or parameter, a missing key or an AccessDenied throws an Error whose message
 *   says which reference and why; config/interpolate.ts turns it into a ConfigError naming the path.
 *
 * The IAM grants for exactly the referenced secrets and parameters come from the same syntax:
 * deploy/greenlight-plugin.js reads greenlight.yml when the stack is packaged.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { GetParameterError, ParameterNotFoundError } from '@aws-lambda-powertools/parameters';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { awsClientConfig, awsErrorName } from '../lib/aws';
import { withConnectionHint } from '../lib/connection-hint';
import { errorMessage } from '../lib/errors';
import type { Resolver } from './interpolate';
import { registerSecret } from '../lib/redact';

export const DEFAULT_SECRET_MAX_AGE_SECONDS = 900;

/** The seams: anything with Powertools' provider `get`. */
export interface SecretSources {
  secrets: Pick<SecretsProvider, 'get'>;
  ssm: Pick<SSMProvider, 'get'>;
}

export interface SecretResolverOptions {
  sources?: SecretSources;
  /** How long a fetched value is reused, in seconds. */
  maxAgeSeconds?: number;
}

let defaultSources: SecretSources | undefined;

/** One provider pair per container, created on first use (so `AWS_ENDPOINT_URL_*` is read then). */
export function defaultSecretSources(): SecretSources {
  defaultSources ??= {
    secrets: new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient(awsClientConfig()) }),
    ssm: new SSMProvider({ awsSdkV3Client: new SSMClient(awsClientConfig()) }),
  };
  return defaultSources;
}

/** For tests: drop the cached providers (and with them their value caches). */
export function resetSecretSources(): void {
  defaultSources = undefined;
}

/** Splits `ID#key` at the last `#` (secret names cannot contain `#`, so the key is what follows). */
export function parseSecretReference(argument: string): { secretId: string; jsonKey?: string } {
  const at = argument.lastIndexOf('#');
  if (at === -1) return { secretId: argument.trim() };
  return { secretId: argument.slice(0, at).trim(), jsonKey: argument.slice(at + 1).trim() };
}

function why(err: unknown, what: string, service: 'secretsmanager' | 'ssm'): string {
  if (err instanceof ParameterNotFoundError) return `${what} does not exist`;
  const cause = err instanceof GetParameterError && err.cause ? err.cause : err;
  const name = awsErrorName(cause);
  if (name === 'ResourceNotFoundException' || name === 'ParameterNotFound') return `${what} does not exist`;
  const message = errorMessage(cause, { cause: false });
  return withConnectionHint(name && name !== 'Error' ? `${name}: ${message}` : message, cause, {
    kind: 'aws',
    service,
  });
}

/** The `{ secretsmanager, ssm }` resolvers for config/interpolate.ts. */
export function secretResolvers(options: SecretResolverOptions = {}): {
  secretsmanager: Resolver;
  ssm: Resolver;
} {
  const maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
  const sources = () => options.sources ?? defaultSecretSources();

  const secretsmanager: Resolver = async (argument) => {
    const { secretId, jsonKey } = parseSecretReference(argument);
    if (!secretId) throw new Error('expected a secret name or ARN after "secretsmanager:"');
    if (jsonKey === '') throw new Error(`expected a JSON key after "#" in secret ${secretId}`);
    const what = `secret ${secretId}`;
    let value: unknown;
    try {
      value = await sources().secrets.get(secretId, { maxAge, throwOnMissing: true });
    } catch (err) {
      throw new Error(why(err, what, 'secretsmanager'), { cause: err });
    }
    if (typeof value !== 'string')
      throw new Error(`${what} has no SecretString (binary secrets are not supported)`);
    registerSecret(value);
    if (jsonKey === undefined) return value;

    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(`${what} is not a JSON object, so it has no key "${jsonKey}"`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error(`${what} is not a JSON object, so it has no key "${jsonKey}"`);
    }
    const record = parsed as Record<string, unknown>;
    for (const inner of Object.values(record)) if (typeof inner === 'string') registerSecret(inner);
    if (!(jsonKey in record)) {
      throw new Error(`${what} has no key "${jsonKey}" (keys: ${Object.keys(record).join(', ') || 'none'})`);
    }
    const field = record[jsonKey];
    if (field === null || typeof field === 'object')
      throw new Error(`${what} key "${jsonKey}" is not a string or number`);
    const text = String(field);
    registerSecret(text);
    return text;
  };

  const ssm: Resolver = async (argument) => {
    const name = argument.trim();
    if (!name) throw new Error('expected a parameter name after "ssm:"');
    const what = `SSM parameter ${name}`;
    let value: unknown;
    try {
      value = await sources().ssm.get(name, { maxAge, decrypt: true, throwOnMissing: true });
    } catch (err) {
      throw new Error(why(err, what, 'ssm'), { cause: err });
    }
    if (typeof value !== 'string') throw new Error(`${what} has no value`);
    registerSecret(value);
    return value;
  };

  return { secretsmanager, ssm };
}
