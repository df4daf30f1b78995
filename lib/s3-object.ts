import type { GetObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig, awsErrorName } from './aws';
import { errorMessage } from './errors';

/** `s3://bucket/key`, split; undefined for anything else (a file path). */
export function parseS3Url(location: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

export const isS3Url = (location: string) => location.startsWith('s3://');

/** Reading or writing an S3 object failed; the message names the object, the error and what to change. */
export class S3ObjectError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'S3ObjectError';
  }
}

type S3Seam = Pick<S3Client, 'send'>;
let client: S3Seam | undefined;

async function s3(): Promise<S3Seam> {
  if (!client) {
    const { S3Client } = await import('@aws-sdk/client-s3');
    client = new S3Client(awsClientConfig());
  }
  return client;
}

/** Replaces the module's S3 client (tests point it at their own endpoint). */
export function setS3Client(next: S3Seam | undefined): void {
  client = next;
}

function explain(err: unknown, action: 'GetObject' | 'PutObject', location: string): S3ObjectError {
  const name = awsErrorName(err);
  const hint =
    name === 'NoSuchKey'
      ? ': no such object (was it recorded?)'
      : name === 'NoSuchBucket'
        ? ': no such bucket'
        : name === 'AccessDenied' || name === 'Forbidden'
          ? `: access denied (grant s3:${action} on arn:aws:s3:::${location.slice('s3://'.length)})`
          : `: ${errorMessage(err)}`;
  return new S3ObjectError(`s3:${action} ${location}${hint}`, { cause: err });
}

/** Reads an object as UTF-8 text, refusing one larger than `maxBytes`. */
export async function getS3Text(
  location: string,
  options: { signal?: AbortSignal; maxBytes: number },
): Promise<string> {
  const target = parseS3Url(location);
  if (!target) throw new S3ObjectError(`expected s3://bucket/key, got ${location}`);
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  let body: GetObjectCommandOutput;
  try {
    body = await (
      await s3()
    ).send(
      new GetObjectCommand({ Bucket: target.bucket, Key: target.key }),
      options.signal ? { abortSignal: options.signal } : {},
    );
  } catch (err) {
    throw explain(err, 'GetObject', location);
  }
  const length = body.ContentLength;
  if (length !== undefined && length > options.maxBytes)
    throw new S3ObjectError(`${location} is ${length} bytes, more than the ${options.maxBytes} accepted`);
  const text = (await body.Body?.transformToString()) ?? '';
  if (Buffer.byteLength(text) > options.maxBytes)
    throw new S3ObjectError(`${location} is more than the ${options.maxBytes} bytes accepted`);
  return text;
}

/** Writes UTF-8 text to an object (server-side encrypted with S3's default key). */
export async function putS3Text(
  location: string,
  text: string,
  options: { signal?: AbortSignal; contentType?: string } = {},
): Promise<void> {
  const target = parseS3Url(location);
  if (!target) throw new S3ObjectError(`expected s3://bucket/key, got ${location}`);
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  try {
    await (
      await s3()
    ).send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        Body: text,
        ContentType: options.contentType ?? 'application/json',
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
  } catch (err) {
    throw explain(err, 'PutObject', location);
  }
}
