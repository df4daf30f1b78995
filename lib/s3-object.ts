import type { GetObjectCommandOutput, ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { awsClientConfig, awsErrorName } from './aws';
import { errorMessage } from './errors';

/** `s3://bucket/key`, split; undefined for anything else (a file path). */
export function parseS3Url(location: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

export const isS3Url = (location: string) => location.startsWith('s3://');

/** `s3://bucket/prefix/`, split (the prefix ends with `/`); undefined for anything else. */
export function parseS3Folder(location: string): { bucket: string; prefix: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+\/)$/.exec(location);
  return m ? { bucket: m[1]!, prefix: m[2]! } : undefined;
}

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
    // A local endpoint (AWS_ENDPOINT_URL_S3) answers path-style requests, not bucket host names.
    client = new S3Client({
      ...awsClientConfig(),
      forcePathStyle: !!(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL),
    });
  }
  return client;
}

/** Replaces the module's S3 client (tests point it at their own endpoint). */
export function setS3Client(next: S3Seam | undefined): void {
  client = next;
}

function explain(
  err: unknown,
  action: 'GetObject' | 'PutObject' | 'ListBucket',
  location: string,
): S3ObjectError {
  const name = awsErrorName(err);
  const path = location.slice('s3://'.length);
  // ListBucket is granted on the bucket, narrowed to the prefix by the s3:prefix condition key.
  const grant =
    action === 'ListBucket'
      ? `s3:ListBucket on arn:aws:s3:::${path.slice(0, path.indexOf('/'))} with s3:prefix ${path.slice(path.indexOf('/') + 1)}`
      : `s3:${action} on arn:aws:s3:::${path}`;
  const hint =
    name === 'NoSuchKey'
      ? ': no such object (was it recorded?)'
      : name === 'NoSuchBucket'
        ? ': no such bucket'
        : name === 'AccessDenied' || name === 'Forbidden'
          ? `: access denied (grant ${grant})`
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

/**
 * The names of the objects directly under a folder (`s3://bucket/prefix/`), without the prefix:
 * deeper keys are left out, as a directory listing leaves out subfolders' files. Refuses a folder
 * of more than `maxKeys` objects.
 */
export async function listS3Folder(
  location: string,
  options: { signal?: AbortSignal; maxKeys: number },
): Promise<string[]> {
  const folder = parseS3Folder(location);
  if (!folder) throw new S3ObjectError(`expected s3://bucket/prefix/, got ${location}`);
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const names: string[] = [];
  let token: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await (
        await s3()
      ).send(
        new ListObjectsV2Command({
          Bucket: folder.bucket,
          Prefix: folder.prefix,
          Delimiter: '/',
          ...(token ? { ContinuationToken: token } : {}),
        }),
        options.signal ? { abortSignal: options.signal } : {},
      );
    } catch (err) {
      throw explain(err, 'ListBucket', location);
    }
    for (const object of page.Contents ?? []) {
      const name = object.Key?.slice(folder.prefix.length);
      if (name) names.push(name);
    }
    if (names.length > options.maxKeys)
      throw new S3ObjectError(`${location} holds more than the ${options.maxKeys} objects accepted`);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return names;
}
