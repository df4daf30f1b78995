import { setTimeout as sleep } from 'node:timers/promises';
import {
  CodeDeployClient,
  PutLifecycleEventHookExecutionStatusCommand,
  type LifecycleEventStatus,
} from '@aws-sdk/client-codedeploy';
import type { CodeDeployStatus } from '../checks/verdict';
import { awsClientConfig, awsErrorName } from '../lib/aws';
import { withConnectionHint } from '../lib/connection-hint';
import { recordAttemptErrors, withAttemptErrors, type AttemptErrors } from '../lib/aws-attempt-errors';
import { ReportError, errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { withinDeadline } from '../lib/within-deadline';

import type { CodeDeploySender } from '../lib/codedeploy-client';

let reportClient: CodeDeployClient | undefined;

/**
 * The client the verdict goes out with: one attempt per send, because reportHookStatus retries on
 * its own schedule, bounded by the report reserve. The SDK's own backoff after throttling can
 * wait longer between attempts than the reserve has left.
 */
export function defaultReportClient(): CodeDeployClient {
  if (!reportClient) {
    reportClient = new CodeDeployClient({ ...awsClientConfig(), maxAttempts: 1 });
    recordAttemptErrors(reportClient);
  }
  return reportClient;
}

export interface HookExecution {
  deploymentId: string;
  lifecycleEventHookExecutionId: string;
}

export type Delivery = 'reported' | 'already-completed';

/** The first pause between delivery rounds; it doubles each round, up to the cap. */
export const REPORT_RETRY_BASE_MS = 250;
export const REPORT_RETRY_CAP_MS = 2_000;
/** A round is not started with less time than this left: it could not finish. */
const MIN_ROUND_MS = 250;
const THROTTLING = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/;

/**
 * Whether another round could succeed: throttling, a 5xx, an answer the SDK could not read, or
 * no answer at all. A modelled 4xx (denied, an invalid id or status) would only repeat itself.
 */
function worthRetrying(err: unknown): boolean {
  if (THROTTLING.test(awsErrorName(err) ?? '')) return true;
  const { $fault, $metadata } = (err ?? {}) as { $fault?: string; $metadata?: { httpStatusCode?: number } };
  const status = $metadata?.httpStatusCode;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return $fault !== 'client';
}

/**
 * Sends the verdict with PutLifecycleEventHookExecutionStatus, and keeps sending it until
 * CodeDeploy takes it or `timeoutMs` (the report reserve, bounded by the Lambda's remaining time)
 * is spent: after throttling, a 5xx or a network error it waits a random time below a cap that
 * doubles each round (full jitter) and sends again, so a blip at CodeDeploy does not leave the
 * deployment waiting for its one-hour hook timeout. LifecycleEventAlreadyCompletedException
 * means an earlier invocation (or an earlier attempt whose answer was lost) already reported:
 * that counts as delivered. A refusal that would only repeat itself (AccessDenied, an invalid id)
 * throws at once; a delivery that runs out of time throws naming what CodeDeploy last answered.
 * ReportError is the only error a hook handler lets escape.
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
  const deadline = Date.now() + options.timeoutMs;
  const abort = new AbortController();
  const seen: AttemptErrors = { count: 0 };
  const spent = () => {
    // What CodeDeploy last answered is the reason the reserve ran out.
    if (!seen.last) return new ReportError(`no answer from CodeDeploy within ${options.timeoutMs} ms`);
    const attempts = `${seen.count} attempt${seen.count === 1 ? '' : 's'} failed`;
    return new ReportError(
      `could not report ${status} to CodeDeploy within ${options.timeoutMs} ms: ${attempts}, the last with ${describeFailure(seen.last)}`,
      { cause: seen.last },
    );
  };

  const deliver = async (): Promise<void> => {
    for (let round = 0; ; round++) {
      const counted = seen.count;
      try {
        await withAttemptErrors(seen, () => client.send(command, { abortSignal: abort.signal }));
        return;
      } catch (err) {
        if (abort.signal.aborted || !worthRetrying(err)) throw err;
        seen.last = err;
        // A client without the attempt recorder still counts one failure per round.
        if (seen.count === counted) seen.count++;
        const ceiling = Math.min(REPORT_RETRY_CAP_MS, REPORT_RETRY_BASE_MS * 2 ** round);
        const left = deadline - MIN_ROUND_MS - Date.now();
        if (left <= 0) throw spent();
        // The last round goes out while there is still time for it to be answered.
        const pauseMs = Math.min(left, Math.round(Math.random() * ceiling));
        options.log.warn('CodeDeploy did not take the report; trying again', {
          status,
          attemptsFailed: seen.count,
          retryInMs: pauseMs,
          awsError: describeFailure(err),
        });
        await sleep(pauseMs, undefined, { signal: abort.signal });
      }
    }
  };

  try {
    await withinDeadline(deliver(), {
      timeoutMs: options.timeoutMs,
      timeoutError: () => {
        abort.abort();
        return spent();
      },
    });
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
    abort.abort();
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
