import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsClientConfig, awsErrorName } from '../../lib/aws';
import { recordAttemptErrors, withAttemptErrors } from '../../lib/aws-attempt-errors';
import { withConnectionHint } from '../../lib/connection-hint';
import { abortReasonText, errorMessage } from '../../lib/errors';
import type { CheckContext } from '../types';

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
  if (!defaultClient) {
    defaultClient = new CloudWatchClient(awsClientConfig());
    recordAttemptErrors(defaultClient);
  }
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
/** An AWS call stops this long before the check's deadline, so the check itself says why it ran out of time. */
const DEADLINE_MARGIN_MS = 100;

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
  const remainingMs = ctx.deadline - Date.now() - DEADLINE_MARGIN_MS;
  if (ctx.signal.aborted || remainingMs <= 0) {
    throw new AwsCallError(
      `${call.operation} not sent: ${ctx.signal.aborted ? abortReasonText(ctx.signal, 'the check was stopped') : 'the check deadline has passed'}`,
    );
  }
  const deadline = AbortSignal.timeout(remainingMs);
  const seen = { count: 0 } as { count: number; last?: unknown };
  try {
    return await withAttemptErrors(seen, () => send(AbortSignal.any([ctx.signal, deadline])));
  } catch (err) {
    const name = awsErrorName(err);
    const failed = seen.last
      ? `; ${seen.count} attempt${seen.count === 1 ? '' : 's'} failed, the last with ${oneLine(seen.last)}`
      : '';
    if (ctx.signal.aborted)
      throw new AwsCallError(
        `${call.operation} stopped: ${abortReasonText(ctx.signal, 'the check was stopped')}${failed}`,
        name,
        {
          cause: err,
        },
      );
    const endpoint = { kind: 'aws' as const, service: call.service };
    if (deadline.aborted)
      throw new AwsCallError(
        // No failed attempt at all: the endpoint swallowed the request (no route out of a VPC).
        withConnectionHint(
          `${call.operation} got no answer before the check deadline (${remainingMs} ms)${failed}`,
          seen.last ?? { code: 'ETIMEDOUT' },
          endpoint,
        ),
        awsErrorName(seen.last) ?? name,
        { cause: err },
      );
    const message = oneLine(err, false);
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
      withConnectionHint(
        `${call.operation} failed${tries}: ${name && !message.startsWith(name) ? `${name}: ` : ''}${message}`,
        err,
        endpoint,
      ),
      name,
      { cause: err },
    );
  }
}

/** The one-line reason of a failed call: an AwsCallError already says everything, without its cause repeated. */
export function failureMessage(err: unknown): string {
  return err instanceof AwsCallError ? err.message : errorMessage(err);
}

/** `Name: message` (or the message alone), on one line: the SDK appends a multi-line hint to deserialization errors. */
function oneLine(err: unknown, withName = true): string {
  const message = errorMessage(err).split('\n')[0]!.trim();
  const name = awsErrorName(err);
  return withName && name && !message.startsWith(name) ? `${name}: ${message}` : message;
}
