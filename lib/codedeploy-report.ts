import {
  CodeDeployClient,
  PutLifecycleEventHookExecutionStatusCommand,
  type LifecycleEventStatus,
} from '@aws-sdk/client-codedeploy';
import type { CodeDeployStatus } from '../checks/verdict';
import { awsClientConfig, awsErrorName } from './aws';
import { ReportError, errorMessage } from './errors';
import type { Logger } from './log';

/** The narrow seam: anything with the client's `send`. */
export type CodeDeploySender = Pick<CodeDeployClient, 'send'>;

let defaultClient: CodeDeployClient | undefined;

/** One client per container, created on first use (so `AWS_ENDPOINT_URL_CODEDEPLOY` is read then). */
export function defaultCodeDeployClient(): CodeDeployClient {
  defaultClient ??= new CodeDeployClient(awsClientConfig());
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
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new ReportError(`no answer from CodeDeploy within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  try {
    await Promise.race([client.send(command, { abortSignal: abort.signal }), timeout]);
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
    const reason =
      err instanceof ReportError ? err.message : `${awsErrorName(err) ?? 'error'}: ${errorMessage(err)}`;
    options.log.error('could not report to CodeDeploy', { status, reason });
    throw err instanceof ReportError
      ? err
      : new ReportError(`could not report ${status} to CodeDeploy: ${reason}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
