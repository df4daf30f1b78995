import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { awsClientConfig, awsErrorName } from '../lib/aws';
import { withConnectionHint } from '../lib/connection-hint';
import { ConfigError, errorMessage } from '../lib/errors';
import { describeConfigLocation, type ConfigLocation } from './config-location';

/** A config's text and the revision it was read at: the S3 ETag or the SSM parameter version. */
export interface ConfigText {
  text: string;
  revision: string;
}

/**
 * Reads a remote config. Given the revision already held, it answers `unchanged` when that is
 * still current: S3 through `If-None-Match` (a 304 moves no body), SSM by comparing the
 * parameter's version (SSM has no conditional read, but an unchanged version is not parsed again).
 */
export interface ConfigReader {
  read(
    location: Exclude<ConfigLocation, { kind: 'file' }>,
    since: string | undefined,
    signal: AbortSignal,
  ): Promise<ConfigText | 'unchanged'>;
}

export interface ConfigReaderClients {
  s3?: Pick<S3Client, 'send'>;
  ssm?: Pick<SSMClient, 'send'>;
}

let defaultS3: Promise<Pick<S3Client, 'send'>> | undefined;
let defaultSsm: Promise<Pick<SSMClient, 'send'>> | undefined;

/** The S3 client, loaded on first use: a hook with a packaged config never loads it. */
function s3Client(): Promise<Pick<S3Client, 'send'>> {
  defaultS3 ??= import('@aws-sdk/client-s3').then(
    ({ S3Client }) =>
      new S3Client({
        ...awsClientConfig(),
        forcePathStyle: !!(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL),
      }),
  );
  return defaultS3;
}

function ssmClient(): Promise<Pick<SSMClient, 'send'>> {
  defaultSsm ??= import('@aws-sdk/client-ssm').then(({ SSMClient }) => new SSMClient(awsClientConfig()));
  return defaultSsm;
}

function unreadable(location: ConfigLocation, err: unknown, service: 's3' | 'ssm'): ConfigError {
  const source = describeConfigLocation(location);
  const name = awsErrorName(err);
  if (name === 'NoSuchKey' || name === 'NotFound' || name === 'ParameterNotFound' || name === 'NoSuchBucket')
    return new ConfigError(`config ${source} does not exist (${name})`, { cause: err });
  const message = errorMessage(err, { cause: false });
  const why = withConnectionHint(name && name !== 'Error' ? `${name}: ${message}` : message, err, {
    kind: 'aws',
    service,
  });
  return new ConfigError(`cannot read config ${source}: ${why}`, { cause: err });
}

function notModified(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  return status === 304 || awsErrorName(err) === 'NotModified' || awsErrorName(err) === '304';
}

/** The reader over real S3 and SSM clients (`AWS_ENDPOINT_URL_S3` / `_SSM` honoured). */
export function awsConfigReader(clients: ConfigReaderClients = {}): ConfigReader {
  return {
    async read(location, since, signal) {
      if (location.kind === 's3') {
        const [{ GetObjectCommand }, s3] = await Promise.all([
          import('@aws-sdk/client-s3'),
          clients.s3 ?? s3Client(),
        ]);
        try {
          const out = await s3.send(
            new GetObjectCommand({
              Bucket: location.bucket,
              Key: location.key,
              ...(since ? { IfNoneMatch: since } : {}),
            }),
            { abortSignal: signal },
          );
          const text = (await out.Body?.transformToString('utf8')) ?? '';
          return { text, revision: out.ETag ?? '' };
        } catch (err) {
          if (since && notModified(err)) return 'unchanged';
          throw unreadable(location, err, 's3');
        }
      }
      const [{ GetParameterCommand }, ssm] = await Promise.all([
        import('@aws-sdk/client-ssm'),
        clients.ssm ?? ssmClient(),
      ]);
      try {
        const out = await ssm.send(new GetParameterCommand({ Name: location.name, WithDecryption: true }), {
          abortSignal: signal,
        });
        const revision = String(out.Parameter?.Version ?? '');
        if (since && revision === since) return 'unchanged';
        return { text: out.Parameter?.Value ?? '', revision };
      } catch (err) {
        throw unreadable(location, err, 'ssm');
      }
    },
  };
}
