import {
  CodeDeployClient,
  PutLifecycleEventHookExecutionStatusCommand,
  type LifecycleEventStatus,
} from '@aws-sdk/client-codedeploy';
import type { CodeDeployStatus } from '../checks/verdict';
import { awsClientConfig, awsErrorName } from './aws';
import { withConnectionHint } from './connection-hint';
import { recordAttemptErrors, withAttemptErrors, type AttemptErrors } from './aws-attempt-errors';
import { ReportError, errorMessage } from './errors';
import type { Logger } from './log';

/** The narrow seam: anything with the client's `send`. */
export type CodeDeploySender = Pick<CodeDeployClient, 'send'>;

let defaultClient: CodeDeployClient | undefined;

/** One client per container, created on first use (so `AWS_ENDPOINT_URL_CODEDEPLOY` is read then). */
export function defaultCodeDeployClient(): CodeDeployClient {
  if (!defaultClient) {
    defaultClient = new CodeDeployClient(awsClientConfig());
    recordAttemptErrors(defaultClient);
  }
  return defaultClient;
}

export interface HookExecution {
  deploymentId: string;
  lifecycleEventHookExecutionId: string;
}

export type Delivery = 'reported' | 'already-completed';

/**
 * Sends the verdict with PutLifecycleEventHookExecutionStatus. Throttling, 5xx and network
 * errors are retried by the client; the whole delivery is bounded by `timeoutMs`.
 * LifecycleEventAlreadyCompletedException means an earlier invocation (or an earlier attempt
 * whose answer was lost) already reported: that counts as delivered. Anything else throws
 * ReportError, the only error a hook handler lets escape.
 */
export async function reportHookStatus(
  client: CodeDeploySender,
  execution: HookExecution,
  status: CodeDeployStatus,
  options: { timeoutMs: number; log: Logger },
): Promise<Delivery> {
  const command = new PutLifecycleEventHookExecutionStatusCommand({
    deploymentId: execution.deploymentId,
    lifecycleEventHookExecutionId: execution.lifecycleEventHookExecutionId,
    status: status satisfies LifecycleEventStatus,
  });
  const abort = new AbortController();
  const seen: AttemptErrors = { count: 0 };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      // Retries can outlast the reserve: then what CodeDeploy last answered is the reason.
      const failed = seen.last
        ? `; ${seen.count} attempt${seen.count === 1 ? '' : 's'} failed, the last with ${describeFailure(seen.last)}`
        : '';
      reject(new ReportError(`no answer from CodeDeploy within ${options.timeoutMs} ms${failed}`));
    }, options.timeoutMs);
  });
  try {
    await Promise.race([
      withAttemptErrors(seen, () => client.send(command, { abortSignal: abort.signal })),
      timeout,
    ]);
    options.log.info('reported to CodeDeploy', { status });
    return 'reported';
  } catch (err) {
    if (awsErrorName(err) === 'LifecycleEventAlreadyCompletedException') {
      options.log.warn('CodeDeploy says this lifecycle event was already reported; nothing more to do', {
        status,
        awsError: errorMessage(err),
      });
      return 'already-completed';
    }
    const reason = err instanceof ReportError ? err.message : describeFailure(err);
    options.log.error('could not report to CodeDeploy', { status, reason });
    throw err instanceof ReportError
      ? err
      : new ReportError(`could not report ${status} to CodeDeploy: ${reason}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One line naming what went wrong. An answer the SDK could not read (a proxy's HTML error page,
 * say) surfaces as a parse error: the HTTP status it came with is what names the fault.
 */
function describeFailure(err: unknown): string {
  // The SDK appends a multi-line hint to errors it could not deserialize.
  const message = errorMessage(err).split('\n')[0]!.trim();
  const unmodelled = err !== null && typeof err === 'object' && !('$fault' in err);
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const http = unmodelled && status ? ` (HTTP ${status} from CodeDeploy)` : '';
  const said = `${awsErrorName(err) ?? 'error'}: ${message}${http}`;
  return withConnectionHint(said, err, { kind: 'aws', service: 'codedeploy' });
}
