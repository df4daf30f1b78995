import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsClientConfig, awsErrorName } from '../lib/aws';
import { errorMessage } from '../lib/errors';
import type { CheckContext } from './types';

/** The narrow seam the CloudWatch checks talk through: anything with the client's `send`. */
export type CloudWatchSender = Pick<CloudWatchClient, 'send'>;

type CloudWatchSdk = typeof import('@aws-sdk/client-cloudwatch');

let sdk: Promise<CloudWatchSdk> | undefined;
let defaultClient: CloudWatchClient | undefined;

/**
 * The CloudWatch SDK, loaded on first use: a hook whose checks never read CloudWatch does not
 * pay for loading it at cold start.
 */
export function cloudWatchSdk(): Promise<CloudWatchSdk> {
  sdk ??= import('@aws-sdk/client-cloudwatch');
  return sdk;
}

/** One client per container, created on first use (so `AWS_ENDPOINT_URL_CLOUDWATCH` is read then). */
export async function defaultCloudWatchClient(): Promise<CloudWatchClient> {
  const { CloudWatchClient } = await cloudWatchSdk();
  defaultClient ??= new CloudWatchClient(awsClientConfig());
  return defaultClient;
}

/** Where a check gets its client: the default one, or one a caller passes in. */
export type CloudWatchProvider = () => CloudWatchSender | Promise<CloudWatchSender>;

/** An AWS call that did not give an answer; the message names the operation and, for a denial, the IAM action. */
export class AwsCallError extends Error {
  constructor(
    message: string,
    /** The AWS error name, e.g. `AccessDeniedException`, when AWS answered with one. */
    readonly awsError?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AwsCallError';
  }
}

/** What is called: `{ service: 'cloudwatch', operation: 'DescribeAlarms' }` makes the permission `cloudwatch:DescribeAlarms`. */
export interface AwsOperation {
  service: string;
  operation: string;
}

const DENIED = /AccessDenied|NotAuthorized|Unauthorized|Forbidden/i;

/**
 * Sends one AWS request under the check's signal and deadline (the client itself retries
 * throttling, 5xx and network errors). Any failure becomes an AwsCallError that says what was
 * tried; a denial names the missing IAM permission.
 */
export async function sendWithin<T>(
  call: AwsOperation,
  ctx: Pick<CheckContext, 'signal' | 'deadline'>,
  send: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const permission = `${call.service}:${call.operation}`;
  const remainingMs = ctx.deadline - Date.now();
  if (ctx.signal.aborted || remainingMs <= 0) {
    throw new AwsCallError(
      `${call.operation} not sent: ${ctx.signal.aborted ? stopReason(ctx.signal) : 'the check deadline has passed'}`,
    );
  }
  const deadline = AbortSignal.timeout(remainingMs);
  try {
    return await send(AbortSignal.any([ctx.signal, deadline]));
  } catch (err) {
    const name = awsErrorName(err);
    if (ctx.signal.aborted)
      throw new AwsCallError(`${call.operation} stopped: ${stopReason(ctx.signal)}`, name, { cause: err });
    if (deadline.aborted)
      throw new AwsCallError(
        `${call.operation} got no answer before the check deadline (${remainingMs} ms)`,
        name,
        { cause: err },
      );
    // Messages are one line; the SDK appends a multi-line hint to deserialization errors.
    const message = errorMessage(err).split('\n')[0]!.trim();
    if (name && DENIED.test(name)) {
      throw new AwsCallError(
        `${call.operation} was denied (${name}): the role needs ${permission}; AWS said: ${message}`,
        name,
        { cause: err },
      );
    }
    const attempts = (err as { $metadata?: { attempts?: number } }).$metadata?.attempts;
    const tries = attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
    throw new AwsCallError(
      `${call.operation} failed${tries}: ${name && !message.startsWith(name) ? `${name}: ` : ''}${message}`,
      name,
      { cause: err },
    );
  }
}

/** The one-line reason of a failed call: an AwsCallError already says everything, without its cause repeated. */
export function failureMessage(err: unknown): string {
  return err instanceof AwsCallError ? err.message : errorMessage(err);
}

function stopReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason && typeof reason === 'object' && 'message' in reason && typeof reason.message === 'string')
    return reason.message;
  return 'the check was stopped';
}
