import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import type { CheckType } from '../checks/check-type';
import { runChecks, type Verdict } from '../checks/runner';
import type { LifecycleEvent } from '../checks/types';
import type { CodeDeployStatus } from '../checks/verdict';
import {
  defaultCodeDeployClient,
  reportHookStatus,
  type CodeDeploySender,
  type Delivery,
} from './codedeploy-report';
import type { LoadedConfig, LoadOptions } from './config';
import { DEFAULT_REPORT_RESERVE_MS } from './report-reserve';
import { ConfigError, EventError, errorMessage } from './errors';
import { parseHookEvent } from './hook-event';
import { createLogger, type Logger } from './log';

/** Used when the Lambda context gives no remaining time (e.g. a local invoke): Lambda's 15-minute maximum. */
const FALLBACK_REMAINING_MS = 900_000;
/** Never give the report less than this, even when the budget is nearly gone. */
const MIN_REPORT_MS = 1_000;

export interface HookHandlerOptions {
  /** Check types the config may name (default: the built-in ones). */
  checkTypes?: readonly CheckType[];
  codedeploy?: CodeDeploySender;
  /** Default: `GREENLIGHT_CONFIG`, else `greenlight.yml` in the Lambda task root (beside the bundle). */
  configPath?: string;
  log?: Logger;
  /** Extra `${provider:...}` resolvers for the config. */
  resolvers?: LoadOptions['resolvers'];
}

export interface HookOutcome {
  status: CodeDeployStatus;
  reason: string;
  /** How the report went; `not-reported` only for a malformed event. */
  delivery: Delivery | 'not-reported';
  verdict?: Verdict;
}

export type HookHandler = (
  event: unknown,
  context?: Partial<Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>>,
) => Promise<HookOutcome>;

const configCache = new Map<string, Promise<LoadedConfig>>();

/** Loaded once per container; a failed load is not cached, so a later invocation tries again. */
function cachedConfig(path: string, options: LoadOptions): Promise<LoadedConfig> {
  let pending = configCache.get(path);
  if (!pending) {
    // Loaded on first use: zod, yaml and the check types stay out of the module-load path of
    // every cold start, and the report client is ready even when the config cannot be read.
    pending = import('./config').then(({ loadConfig }) => loadConfig(path, options));
    configCache.set(path, pending);
    pending.catch(() => configCache.delete(path));
  }
  return pending;
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function defaultConfigPath(): string {
  return (
    process.env.GREENLIGHT_CONFIG || join(process.env.LAMBDA_TASK_ROOT ?? process.cwd(), 'greenlight.yml')
  );
}

/**
 * The CodeDeploy hook adapter for one lifecycle event. It validates the event, runs the event's
 * checks under the remaining Lambda time minus the report reserve, and reports exactly once
 * from `finally`, with a status that starts as Failed. Only an undeliverable report throws.
 */
export function createHookHandler(
  lifecycleEvent: LifecycleEvent,
  options: HookHandlerOptions = {},
): HookHandler {
  return async (event, context) => {
    const log = (options.log ?? createLogger()).child({ lifecycleEvent });
    let execution;
    try {
      execution = parseHookEvent(event);
    } catch (err) {
      const reason = errorMessage(err);
      log.error('cannot report: the event is not a CodeDeploy lifecycle hook event', { reason });
      if (!(err instanceof EventError)) throw err;
      return { status: 'Failed', reason, delivery: 'not-reported' };
    }

    const hookLog = log.child({
      deploymentId: execution.deploymentId,
      lifecycleEventHookExecutionId: execution.lifecycleEventHookExecutionId,
      requestId: context?.awsRequestId,
    });
    const remaining = () => context?.getRemainingTimeInMillis?.() ?? FALLBACK_REMAINING_MS;
    const started = performance.now();
    let status: CodeDeployStatus = 'Failed';
    let reason = 'the hook stopped before reaching a verdict';
    let reserveMs = DEFAULT_REPORT_RESERVE_MS;
    let verdict: Verdict | undefined;
    let delivery: Delivery | undefined;

    try {
      const loadBudgetMs = remaining() - reserveMs;
      const config = await withTimeout(
        cachedConfig(options.configPath ?? defaultConfigPath(), {
          ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
          ...(options.resolvers ? { resolvers: options.resolvers } : {}),
        }),
        loadBudgetMs,
        `loading the config took longer than the ${Math.max(0, loadBudgetMs)} ms left before the report reserve`,
      );
      reserveMs = config.runner.reportReserveMs;
      const planned = config.plan(lifecycleEvent);
      const budgetMs = remaining() - reserveMs;
      if (planned.length === 0) {
        status = config.runner.noChecks === 'succeed' ? 'Succeeded' : 'Failed';
        reason = `no checks configured for ${lifecycleEvent} (runner.noChecks: ${config.runner.noChecks})`;
      } else if (budgetMs <= 0) {
        reason = `not enough time to run checks: ${remaining()} ms left, ${reserveMs} ms reserved for reporting`;
      } else {
        hookLog.info('running checks', { checks: planned.map((p) => p.check.name), budgetMs });
        verdict = await runChecks(planned, {
          deadline: Date.now() + budgetMs,
          targets: config.targets,
          deployment: { ...execution, lifecycleEvent },
          log: hookLog,
          concurrency: config.runner.concurrency,
          failFast: config.runner.failFast,
        });
        for (const result of verdict.checks) {
          const level = result.outcome === 'passed' ? 'info' : 'warn';
          hookLog[level]('check result', { check: result });
        }
        status = verdict.status;
        reason = verdict.reason;
      }
    } catch (err) {
      status = 'Failed';
      reason =
        err instanceof ConfigError ? `config error: ${err.message}` : `hook error: ${errorMessage(err)}`;
      hookLog.error('the hook could not run its checks', { reason });
    } finally {
      hookLog.info('verdict', {
        status,
        reason,
        outcome: verdict?.outcome,
        durationMs: Math.round(performance.now() - started),
      });
      const timeoutMs = Math.max(MIN_REPORT_MS, Math.min(reserveMs, remaining() - 250));
      delivery = await reportHookStatus(options.codedeploy ?? defaultCodeDeployClient(), execution, status, {
        timeoutMs,
        log: hookLog,
      });
    }
    const outcome: HookOutcome = { status, reason, delivery };
    if (verdict) outcome.verdict = verdict;
    return outcome;
  };
}
