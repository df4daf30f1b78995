import type { Context } from 'aws-lambda';
import type { CheckType } from '../checks/check-type';
import { runChecks, type Verdict } from '../checks/runner';
import type { LifecycleEvent } from '../checks/types';
import type { CodeDeployStatus } from '../checks/verdict';
import { defaultReportClient, reportHookStatus, type Delivery } from './codedeploy-report';
import type { CodeDeploySender } from '../lib/codedeploy-client';
import { autoTargetNames } from '../lib/auto-target';
import type { LoadOptions } from '../config/config';
import type { DiscoveryClients } from '../checks/discovery/deployment';
import { ConfigError, EventError, errorMessage } from '../lib/errors';
import { logCheckResults } from './hook-config';
import { codeDeploySubject, hookConfigLoader, knownApplication } from './platform-config';
import type { SkippedVerdict } from './break-glass';
import type { ConfigReader } from '../config/config-reader';
import { defaultCodeDeployClient } from '../lib/codedeploy-client';
import { parseHookEvent } from './hook-event';
import { createLogger, type Logger } from '../lib/log';
import { withinDeadline } from '../lib/within-deadline';
import { DEFAULT_REPORT_RESERVE_MS } from '../lib/report-reserve';
import { codeDeployDeployment, notifyVerdict } from './notify/notify';
import { withGateAnnouncer } from './notify/gate-announcer';
import type { NotifySettings } from '../config/notify-schema';
import { wantsGreenDiagnosis } from './wants-green-diagnosis';
import { needsGate } from './gate/needs-gate';
import type { GateOptions } from './gate/gated-hook';

/** Used when the Lambda context gives no remaining time (e.g. a local invoke): Lambda's 15-minute maximum. */
const FALLBACK_REMAINING_MS = 900_000;
/** Never give the report less than this, even when the budget is nearly gone. */
const MIN_REPORT_MS = 1_000;

export interface HookHandlerOptions {
  /** Check types the config may name (default: the built-in ones). */
  checkTypes?: readonly CheckType[];
  codedeploy?: CodeDeploySender;
  /**
   * Default: `GREENLIGHT_CONFIG`, else `greenlight.yml`, from the working directory (the Lambda task
   * root); or an `s3://` / `ssm:/` template over the deployment (platform mode).
   */
  configPath?: string;
  /** Reads platform-mode configs (default: S3 and SSM clients). */
  configReader?: ConfigReader;
  log?: Logger;
  /** `${provider:...}` resolvers for the config (default: `secretsmanager` and `ssm`). */
  resolvers?: LoadOptions['resolvers'];
  /** Clients for `targets: auto` discovery (default: created on first use). */
  discovery?: DiscoveryClients;
  /**
   * Where the result metrics (embedded metric format, one JSON document per line) go: stdout by
   * default, which CloudWatch Logs turns into metrics; `false` writes none.
   */
  metrics?: ((line: string) => void) | false;
  /** Whether a failed http check at AfterInstall/AfterAllowTestTraffic adds green's tasks' diagnosis (default true). */
  diagnoseGreen?: boolean;
  /** Bake windows and approvals: their clock, announcer and AWS clients (see hooks/gate/). */
  gate?: GateOptions;
}

export interface HookOutcome {
  status: CodeDeployStatus;
  reason: string;
  /** How the report went; `not-reported` for a malformed event, or a bake window's slice that hands over or stands down. */
  delivery: Delivery | 'not-reported';
  verdict?: Verdict;
  /** Set when the hook passed without running checks (break-glass). */
  skipped?: SkippedVerdict;
}

export type HookHandler = (
  event: unknown,
  context?: Partial<Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>>,
) => Promise<HookOutcome>;

/**
 * The CodeDeploy hook adapter for one lifecycle event. It validates the event, runs the event's
 * checks under the remaining Lambda time minus the report reserve, and reports exactly once
 * from `finally`, with a status that starts as Failed. Only an undeliverable report throws.
 */
export function createHookHandler(
  lifecycleEvent: LifecycleEvent,
  options: HookHandlerOptions = {},
): HookHandler {
  const loadConfig = hookConfigLoader(options);
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
    const deployment = { ...execution, lifecycleEvent };
    const remaining = () => context?.getRemainingTimeInMillis?.() ?? FALLBACK_REMAINING_MS;
    const started = performance.now();
    let status: CodeDeployStatus = 'Failed';
    let reason = 'the hook stopped before reaching a verdict';
    let reserveMs = DEFAULT_REPORT_RESERVE_MS;
    let verdict: Verdict | undefined;
    let delivery: Delivery | undefined;
    let notify: NotifySettings | undefined;
    let skipped: SkippedVerdict | undefined;
    /** The lookup, when a Succeeded verdict went out without waiting for it (a switch would not change it). */
    let unneededSkip: Promise<SkippedVerdict | undefined> | undefined;
    let reportHere = true;

    try {
      // The break-glass switch is looked up only where it can change the outcome (see lookUpSkip).
      const skipSignal = new AbortController();
      let lookup: Promise<SkippedVerdict | undefined> | undefined;
      const lookUpSkip = () =>
        (lookup ??= breakGlass(deployment, hookLog, remaining() - MIN_REPORT_MS)
          .then((found) => {
            if (found) skipSignal.abort(new Error('the deployment was let through by break-glass'));
            return found;
          })
          .catch((err: unknown) => {
            hookLog.warn('could not look up the break-glass switch; the verdict stands', {
              reason: errorMessage(err),
            });
            return undefined;
          }));
      // The config's own reserve is not known yet: loading may use all but what a report needs.
      const loadBudgetMs = remaining() - MIN_REPORT_MS;
      const pendingConfig = withinDeadline(
        loadConfig({
          subject: () =>
            codeDeploySubject(
              execution.deploymentId,
              options.codedeploy ?? defaultCodeDeployClient(),
              AbortSignal.timeout(Math.max(0, loadBudgetMs)),
            ),
          signal: AbortSignal.timeout(Math.max(0, loadBudgetMs)),
        }),
        {
          timeoutMs: loadBudgetMs,
          timeoutError: () =>
            new Error(
              `loading the config took longer than the ${Math.max(0, loadBudgetMs)} ms the Lambda had left`,
            ),
        },
      );
      pendingConfig.catch(() => {});
      let config: Awaited<typeof pendingConfig> | undefined;
      try {
        config = await pendingConfig;
        // A gate spans invocations: it starts only once the switch is known.
        if (needsGate(config.plan(lifecycleEvent))) skipped = await lookUpSkip();
      } catch (err) {
        // A config that cannot load still yields to a switch set for this deployment.
        skipped = await lookUpSkip();
        if (!skipped) throw err;
      }
      if (skipped) {
        status = 'Succeeded';
        reason = skipped.reason;
        // A skip is notified as the service asked, else by the platform's defaults.
        notify = config?.config.notify;
      } else if (config) {
        reserveMs = config.runner.reportReserveMs;
        notify = config.config.notify;
        const planned = config.plan(lifecycleEvent);
        const budgetMs = remaining() - reserveMs;
        if (planned.length === 0) {
          status = config.runner.noChecks === 'succeed' ? 'Succeeded' : 'Failed';
          reason = `no checks configured for ${lifecycleEvent} (runner.noChecks: ${config.runner.noChecks})`;
        } else if (budgetMs <= 0) {
          reason = `not enough time to run checks: ${remaining()} ms left, ${reserveMs} ms reserved for reporting`;
        } else {
          const deadline = Date.now() + budgetMs;
          const targets = await resolveTargets(
            config.targets,
            deployment,
            deadline,
            hookLog,
            options.discovery,
          );
          if ('failure' in targets) {
            reason = targets.failure;
          } else if (needsGate(planned)) {
            const { runGatedHook } = await import('./gate/gated-hook');
            const gated = await runGatedHook(planned, config, targets.resolved, {
              execution,
              lifecycleEvent,
              event,
              context,
              timeLeftMs: () => remaining() - reserveMs,
              log: hookLog,
              options: withGateAnnouncer(options.gate, {
                settings: notify,
                deployment: codeDeployDeployment(execution, lifecycleEvent),
                log: hookLog,
                metrics: options.metrics,
                resolvers: options.resolvers,
              }),
            });
            reportHere = gated.report;
            reason = gated.reason;
            if (gated.report) {
              status = gated.status;
              if (gated.verdict) {
                verdict = gated.verdict;
                logCheckResults(verdict, hookLog);
              }
            }
          } else {
            hookLog.info('running checks', {
              checks: planned.map((p) => p.check.name),
              budgetMs: deadline - Date.now(),
            });
            // Checks still running after a moment (a dependency down, say) may be stopped by a switch.
            const lookUpWhileRunning = setTimeout(() => void lookUpSkip(), BREAK_GLASS_LOOKUP_AFTER_MS);
            try {
              verdict = await runChecks(planned, {
                deadline,
                targets: targets.resolved,
                deployment,
                log: hookLog,
                concurrency: config.runner.concurrency,
                failFast: config.runner.failFast,
                signal: skipSignal.signal,
              });
            } finally {
              clearTimeout(lookUpWhileRunning);
            }
            if (!skipSignal.signal.aborted) {
              logCheckResults(verdict, hookLog);
              status = verdict.status;
              reason = verdict.reason;
              if (options.diagnoseGreen !== false && wantsGreenDiagnosis(lifecycleEvent, verdict)) {
                reason = `${reason}; ${await diagnoseGreen(execution.deploymentId, deadline, options.discovery)}`;
              }
            }
          }
        }
        // A switch overrides a verdict that would hold the deployment back. A Succeeded one goes
        // out without it: a switch would not change it (one already being looked up is logged).
        const succeeded = status === 'Succeeded' && reportHere;
        const late = succeeded ? undefined : await lookUpSkip();
        if (succeeded) unneededSkip = lookup;
        if (late) {
          if (verdict) hookLog.info('checks stopped: the deployment was let through by break-glass');
          skipped = late;
          verdict = undefined;
          status = 'Succeeded';
          reason = late.reason;
        }
      }
    } catch (err) {
      status = 'Failed';
      reason =
        err instanceof ConfigError ? `config error: ${err.message}` : `hook error: ${errorMessage(err)}`;
      hookLog.error('the hook could not run its checks', { reason });
    } finally {
      // A bake window's slice that hands over (or a duplicate that stands down) does not report.
      if (reportHere) {
        hookLog.info('verdict', {
          status,
          reason,
          outcome: verdict?.outcome,
          ...(skipped ? { skipped: { by: skipped.by, parameter: skipped.parameter } } : {}),
          durationMs: Math.round(performance.now() - started),
        });
        const timeoutMs = Math.max(MIN_REPORT_MS, Math.min(reserveMs, remaining() - 250));
        // Notifications go alongside the report, within the same reserve: they never delay it.
        const notified = notifyVerdict(
          {
            status,
            reason,
            deployment: codeDeployDeployment(execution, lifecycleEvent),
            ...(verdict ? { verdict } : {}),
            ...(skipped ? { skipped: { reason: skipped.reason } } : {}),
          },
          {
            settings: notify,
            deadline: Date.now() + timeoutMs,
            log: hookLog,
            metrics: options.metrics,
            resolvers: options.resolvers,
          },
        );
        try {
          delivery = await reportHookStatus(options.codedeploy ?? defaultReportClient(), execution, status, {
            timeoutMs,
            log: hookLog,
          });
        } finally {
          // The result metrics are log lines: written once CodeDeploy has the verdict, not before.
          if (verdict && options.metrics !== false)
            await emitMetrics(verdict, deployment, hookLog, options.metrics);
          if (skipped && options.metrics !== false) await countSkip(deployment, options.metrics);
          const unused = await unneededSkip?.catch(() => undefined);
          if (unused)
            hookLog.info('a break-glass switch names this deployment, but its checks passed: not used', {
              skipped: { by: unused.by, parameter: unused.parameter },
            });
          await notified;
        }
      }
    }
    const outcome: HookOutcome = { status, reason, delivery: delivery ?? 'not-reported' };
    if (verdict) outcome.verdict = verdict;
    if (skipped) outcome.skipped = skipped;
    return outcome;
  };
}

/**
 * Replaces `targets.*: auto` with the listeners discovered from the deployment, verifying that the
 * test listener forwards to the replacement task set. Without `auto` targets it costs nothing.
 */
async function resolveTargets(
  targets: Readonly<Record<string, URL>>,
  deployment: { deploymentId: string; lifecycleEvent: string },
  deadline: number,
  log: Logger,
  clients?: DiscoveryClients,
): Promise<{ resolved: Record<string, URL> } | { failure: string }> {
  if (autoTargetNames(targets).length === 0) return { resolved: { ...targets } };
  const { resolveAutoTargets } = await import('../checks/discovery/listeners');
  const signal = AbortSignal.timeout(Math.max(0, deadline - Date.now()));
  const { targets: resolved, discovery } = await resolveAutoTargets(targets, deployment, clients, { signal });
  log.info('discovered targets', {
    outcome: discovery?.report.outcome,
    reason: discovery?.report.message,
    assertions: discovery?.report.assertions,
    targets: Object.fromEntries(Object.entries(resolved).map(([name, url]) => [name, url.href])),
  });
  if (discovery && discovery.report.outcome !== 'passed') {
    return { failure: `discovery ${discovery.report.outcome}: ${discovery.report.message}` };
  }
  return { resolved };
}

/** Green's tasks' diagnosis, loaded only when wanted; a failure to load or run it never changes the verdict. */
async function diagnoseGreen(
  deploymentId: string,
  deadline: number,
  clients?: DiscoveryClients,
): Promise<string> {
  try {
    const { greenDiagnosis } = await import('./green-diagnosis');
    return await greenDiagnosis(deploymentId, deadline, clients);
  } catch (err) {
    return `diagnosis of green's tasks not available: ${errorMessage(err)}`;
  }
}

/**
 * The break-glass switch is looked up only where it can change what the hook reports: when the
 * config cannot load, before a gate starts, when the checks' verdict is not Succeeded, and when
 * checks are still running this long after they started, so that a switch set while a dependency
 * is down stops checks that would otherwise wait for their timeouts. A passing hook makes no call,
 * which also spares Parameter Store's request quota.
 */
export const BREAK_GLASS_LOOKUP_AFTER_MS = 1_000;

/**
 * The break-glass switch for this deployment and lifecycle event (hooks/break-glass.ts), looked up
 * only when `GREENLIGHT_BREAK_GLASS_PREFIX` is set.
 */
async function breakGlass(
  deployment: { deploymentId: string; lifecycleEvent: string },
  log: Logger,
  budgetMs: number,
): Promise<SkippedVerdict | undefined> {
  if (!process.env.GREENLIGHT_BREAK_GLASS_PREFIX) return undefined;
  const { findBreakGlass } = await import('./break-glass');
  return findBreakGlass({
    deployment: deployment.deploymentId,
    hook: deployment.lifecycleEvent,
    log,
    budgetMs,
  });
}

/** A verdict let through by break-glass, counted as `VerdictSkipped`. */
async function countSkip(
  deployment: { deploymentId: string; lifecycleEvent: string },
  out?: (line: string) => void,
): Promise<void> {
  const { emitSkippedMetric } = await import('./break-glass');
  emitSkippedMetric(
    { service: metricsServiceName(deployment.deploymentId), lifecycleEvent: deployment.lifecycleEvent },
    deployment.deploymentId,
    out,
  );
}

/**
 * The ECS service (or application) name used as the `service` dimension of result metrics: in
 * platform mode the deployment's own application once it is known, else the stack's setting.
 */
function metricsServiceName(deploymentId: string, env: NodeJS.ProcessEnv = process.env): string {
  return (
    knownApplication(deploymentId) || env.GREENLIGHT_SERVICE || env.POWERTOOLS_SERVICE_NAME || 'greenlight'
  );
}

/** Verdict and check results as embedded-metric-format lines; a failure here never changes the verdict. */
async function emitMetrics(
  verdict: Verdict,
  deployment: { deploymentId: string; lifecycleEvent: string },
  log: Logger,
  out?: (line: string) => void,
): Promise<void> {
  try {
    const { emitVerdictMetrics } = await import('./result-metrics');
    emitVerdictMetrics(
      verdict,
      { service: metricsServiceName(deployment.deploymentId), lifecycleEvent: deployment.lifecycleEvent },
      out,
      { deploymentId: deployment.deploymentId },
    );
  } catch (err) {
    log.warn('could not write result metrics', { reason: errorMessage(err) });
  }
}
