// The ECS built-in blue/green lifecycle hook: each stage's answer from its checks, IN_PROGRESS while it waits.
import { runChecks } from '../checks/runner';
import { toEcsHookStatus } from '../checks/verdict';
import { parseEcsHookEvent, type EcsHookInvocation } from './ecs-hook-event';
import type { EcsContext, EcsHookDecision, EcsHookHandlerOptions, EcsHookResponse } from './ecs-hook-types';
import { ConfigError, EventError, errorMessage } from '../lib/errors';
import { autoTargetNames } from '../lib/auto-target';
import { logCheckResults } from './hook-config';
import { ecsSubject, hookConfigLoader } from './platform-config';
import { ecsBreakGlass } from './ecs-break-glass';
import { defaultEcsClient, detectRollback } from './ecs-rollback';
import { readState, STATE_KEY, waitKey, type EcsHookState } from './ecs-hook-state';
import { createLogger } from '../lib/log';
import { withinDeadline } from '../lib/within-deadline';
import { ecsDeployment, notifyVerdict } from './notify/notify';
import { withGateAnnouncer } from './notify/gate-announcer';
import type { NotifySettings } from '../config/notify-schema';
import { needsGate } from './gate/needs-gate';
import { wantsGreenDiagnosis } from './wants-green-diagnosis';
import type { Verdict } from '../checks/runner';

// The config machinery, the secret resolvers and the ECS client load on first use, so that a cold
// start pays only for what the invocation needs.

/** Used when the Lambda context gives no remaining time: Lambda's 15-minute maximum. */
const FALLBACK_REMAINING_MS = 900_000;
/** Time kept back to return the answer; nothing is reported over the network, so less than CodeDeploy needs. */
const RETURN_RESERVE_MS = 2_000;
/** Notifications end this long before the Lambda time does, so the answer still gets back. */
const NOTIFY_MARGIN_MS = 500;
export const DEFAULT_CALLBACK_DELAY_SECONDS = 30;
export const DEFAULT_MAX_WAIT_SECONDS = 600;

/** A stop signal's reason as the error to throw: nothing the hook waits for may outlive the Lambda's time. */
const asError = (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason)));

function positiveNumber(value: string | undefined): number | undefined {
  const n = value === undefined || value === '' ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * The ECS built-in blue/green hook, returning the full decision (the answer for ECS plus the
 * reason and verdict, for logs and tests). A stage's checks run; `passed` answers SUCCEEDED,
 * `failed` FAILED; `error` and `inconclusive` (green not ready, no data yet) answer IN_PROGRESS
 * with a callBackDelay and the attempt count in hookDetails, until the stage has waited
 * `maxWaitSeconds`, when it answers FAILED with the last reason. Never throws: a function error
 * would roll the deployment back without a reason.
 */
export function createEcsHookDecider(options: EcsHookHandlerOptions = {}) {
  const loadConfig = hookConfigLoader(options);
  return async (event: unknown, context?: EcsContext): Promise<EcsHookDecision> => {
    const log = options.log ?? createLogger();
    const now = options.now ?? Date.now;
    const callBackDelay =
      options.callBackDelaySeconds ??
      positiveNumber(process.env.GREENLIGHT_ECS_CALLBACK_DELAY_SECONDS) ??
      DEFAULT_CALLBACK_DELAY_SECONDS;
    const maxWaitSeconds =
      options.maxWaitSeconds ??
      positiveNumber(process.env.GREENLIGHT_ECS_MAX_WAIT_SECONDS) ??
      DEFAULT_MAX_WAIT_SECONDS;
    const remaining = () => context?.getRemainingTimeInMillis?.() ?? FALLBACK_REMAINING_MS;

    let invocation: EcsHookInvocation;
    try {
      invocation = parseEcsHookEvent(event, options.stage ?? process.env.GREENLIGHT_ECS_STAGE);
    } catch (err) {
      const reason = errorMessage(err);
      log.error('the event is not an ECS lifecycle hook event; answering FAILED', { reason });
      if (!(err instanceof EventError)) throw err;
      return { response: { hookStatus: 'FAILED' }, reason };
    }

    const stage = invocation.lifecycleStage;
    const hookLog = log.child({
      lifecycleStage: stage,
      executionId: invocation.executionId,
      resourceArn: invocation.resourceArn,
      requestId: context?.awsRequestId,
    });
    const key = waitKey(invocation);
    const previous = readState(invocation, key);
    const state: EcsHookState = {
      ...key,
      firstAttemptAt: previous?.firstAttemptAt ?? now(),
      attempts: (previous?.attempts ?? 0) + 1,
      ...(invocation.executionId ? { executionId: invocation.executionId } : {}),
    };
    let notify: NotifySettings | undefined;
    const decide = async (decision: EcsHookDecision): Promise<EcsHookDecision> => {
      hookLog.info('hook status', {
        hookStatus: decision.response.hookStatus,
        reason: decision.reason,
        attempt: state.attempts,
        outcome: decision.verdict?.outcome,
        rollback: decision.rollback,
        ...(decision.skipped
          ? { skipped: { by: decision.skipped.by, parameter: decision.skipped.parameter } }
          : {}),
      });
      if (decision.response.hookStatus !== 'IN_PROGRESS') {
        await notifyVerdict(
          {
            status: decision.response.hookStatus === 'SUCCEEDED' ? 'Succeeded' : 'Failed',
            reason: decision.reason,
            deployment: ecsDeployment(invocation),
            ...(decision.verdict ? { verdict: decision.verdict } : {}),
            ...(decision.rollback ? { rollback: decision.rollback } : {}),
            ...(decision.skipped ? { skipped: { reason: decision.skipped.reason } } : {}),
          },
          {
            settings: notify,
            deadline: Date.now() + Math.max(0, remaining() - NOTIFY_MARGIN_MS),
            log: hookLog,
            resolvers: options.resolvers,
          },
        );
      }
      return decision;
    };

    const guard = new AbortController();
    const guardTimer = setTimeout(
      () => guard.abort(new Error('the Lambda time ran out')),
      Math.max(0, remaining() - RETURN_RESERVE_MS),
    );
    try {
      const rollback = await detectRollback(
        invocation,
        options.ecs ? () => Promise.resolve(options.ecs!) : defaultEcsClient,
        hookLog,
        guard.signal,
      );
      if (rollback) {
        // Only for the service's `notify:` section: a config that cannot load changes nothing here.
        notify = await withinDeadline(
          loadConfig({
            subject: async () => ecsSubject(invocation, invocation.hookDetails),
            signal: guard.signal,
          }),
          { signal: guard.signal },
        ).then(
          (config) => config.config.notify,
          () => undefined,
        );
        return decide({
          response: { hookStatus: 'SUCCEEDED' },
          reason: `rollback in progress (${rollback}); checks are not run against a rollback`,
          rollback,
        });
      }

      // The break-glass lookup and the config load run side by side: a skip makes the config moot.
      const pendingSkip = ecsBreakGlass(invocation, hookLog, remaining() - RETURN_RESERVE_MS);
      const pendingConfig = withinDeadline(
        loadConfig({
          subject: async () => ecsSubject(invocation, invocation.hookDetails),
          signal: guard.signal,
        }),
        { signal: guard.signal, abortError: asError },
      );
      pendingConfig.catch(() => {});
      const skipped = await pendingSkip;
      if (skipped) {
        notify = (await pendingConfig.catch(() => undefined))?.config.notify;
        return decide({ response: { hookStatus: 'SUCCEEDED' }, reason: skipped.reason, skipped });
      }
      const config = await pendingConfig;
      notify = config.config.notify;
      const planned = config.plan(stage);
      if (planned.length === 0) {
        const hookStatus = config.runner.noChecks === 'succeed' ? 'SUCCEEDED' : 'FAILED';
        return decide({
          response: { hookStatus },
          reason: `no checks configured for ${stage} (runner.noChecks: ${config.runner.noChecks})`,
        });
      }
      const auto = autoTargetNames(config.targets).map((name) => `targets.${name}`);
      if (auto.length) {
        return decide({
          response: { hookStatus: 'FAILED' },
          reason: `${auto.join(', ')}: "auto" is discovered from a CodeDeploy deployment; an ECS built-in blue/green hook needs the listener URLs in greenlight.yml`,
        });
      }
      const budgetMs = remaining() - Math.min(config.runner.reportReserveMs, RETURN_RESERVE_MS);
      if (budgetMs <= 0) {
        return decide({
          response: { hookStatus: 'FAILED' },
          reason: `not enough time to run checks: ${remaining()} ms left`,
        });
      }

      if (needsGate(planned)) {
        const { runEcsGate } = await import('./gate/ecs-gate');
        const gated = await runEcsGate({
          planned,
          runner: config.runner,
          targets: config.targets,
          previous: previous?.gate,
          deploymentId: key.deployment ?? stage,
          lifecycleStage: stage,
          waitKey: JSON.stringify(key),
          timeLeftMs: () => remaining() - Math.min(config.runner.reportReserveMs, RETURN_RESERVE_MS),
          log: hookLog,
          options: withGateAnnouncer(options.gate, {
            settings: notify,
            deployment: ecsDeployment(invocation),
            log: hookLog,
            resolvers: options.resolvers,
          }),
        });
        if (gated.kind === 'invalid')
          return decide({ response: { hookStatus: 'FAILED' }, reason: gated.reason });
        if (gated.kind === 'waiting') {
          state.gate = gated.state;
          return decide({
            response: {
              hookStatus: 'IN_PROGRESS',
              callBackDelay: gated.callBackDelay,
              hookDetails: { ...invocation.hookDetails, [STATE_KEY]: state },
            },
            reason: `${gated.reason}; next look in ${gated.callBackDelay} s`,
          });
        }
        logCheckResults(gated.verdict, hookLog);
        return decide({
          response: { hookStatus: toEcsHookStatus(gated.verdict.outcome) },
          reason: gated.verdict.reason,
          verdict: gated.verdict,
        });
      }

      hookLog.info('running checks', {
        checks: planned.map((p) => p.check.name),
        budgetMs,
        attempt: state.attempts,
      });
      const deadline = Date.now() + budgetMs;
      // A FAILED answer for an http check that could not reach green says what green's tasks show.
      const explained = async (reason: string, verdict: Verdict) =>
        options.diagnoseGreen !== false && wantsGreenDiagnosis(stage, verdict)
          ? `${reason}; ${await diagnoseGreen(invocation, deadline, options)}`
          : reason;
      const verdict = await runChecks(planned, {
        deadline,
        targets: config.targets,
        deployment: {
          lifecycleEvent: stage,
          ...(invocation.executionId ? { deploymentId: invocation.executionId } : {}),
        },
        log: hookLog,
        concurrency: config.runner.concurrency,
        failFast: config.runner.failFast,
      });
      logCheckResults(verdict, hookLog);

      if (verdict.outcome === 'error' || verdict.outcome === 'inconclusive') {
        const waitedSeconds = Math.round((now() - state.firstAttemptAt) / 1000);
        if (waitedSeconds + callBackDelay <= maxWaitSeconds) {
          state.lastOutcome = verdict.outcome;
          state.lastReason = verdict.reason;
          return decide({
            response: {
              hookStatus: 'IN_PROGRESS',
              callBackDelay,
              hookDetails: { ...invocation.hookDetails, [STATE_KEY]: state },
            },
            reason: `attempt ${state.attempts} ${verdict.outcome}, trying again in ${callBackDelay} s: ${verdict.reason}`,
            verdict,
          });
        }
        return decide({
          response: { hookStatus: toEcsHookStatus(verdict.outcome) },
          reason: await explained(
            `still ${verdict.outcome} after ${state.attempts} attempts over ${waitedSeconds} s (limit ${maxWaitSeconds} s): ${verdict.reason}`,
            verdict,
          ),
          verdict,
        });
      }
      const hookStatus = toEcsHookStatus(verdict.outcome);
      return decide({
        response: { hookStatus },
        reason: hookStatus === 'FAILED' ? await explained(verdict.reason, verdict) : verdict.reason,
        verdict,
      });
    } catch (err) {
      const reason =
        err instanceof ConfigError ? `config error: ${err.message}` : `hook error: ${errorMessage(err)}`;
      hookLog.error('the hook could not run its checks', { reason });
      return decide({ response: { hookStatus: 'FAILED' }, reason });
    } finally {
      clearTimeout(guardTimer);
    }
  };
}

/**
 * Green's tasks' diagnosis from the invocation's target service revision, loaded only when wanted
 * (a bundle packaged without it never loads it); a failure to load or run it never changes the answer.
 */
async function diagnoseGreen(
  invocation: EcsHookInvocation,
  deadline: number,
  options: EcsHookHandlerOptions,
): Promise<string> {
  try {
    const { defaultEcsDiagnosisClients, ecsGreenDiagnosis } = await import('./ecs-green-diagnosis');
    const clients = await defaultEcsDiagnosisClients(options.ecs, options.elbv2);
    return await ecsGreenDiagnosis(invocation, deadline, clients);
  } catch (err) {
    return `diagnosis of green's tasks not available: ${errorMessage(err)}`;
  }
}

/** The Lambda handler for ECS built-in blue/green lifecycle hooks: returns only what ECS reads. */
export function createEcsHookHandler(options: EcsHookHandlerOptions = {}) {
  const decide = createEcsHookDecider(options);
  return async (event: unknown, context?: EcsContext): Promise<EcsHookResponse> =>
    (await decide(event, context)).response;
}
