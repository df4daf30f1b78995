// Invokes one lifecycle event's hook as CodeDeploy does, and waits for its report to the stand-in.
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { CheckResult, LifecycleEvent } from '../checks/types';
import type { LoadedConfig } from '../config/config';
import { errorMessage } from '../lib/errors';
import { withinDeadline } from '../lib/within-deadline';
import { scaledClock } from '../lib/clock';
import { createHookHandler } from '../hooks/hook-handler';
import type { RehearsalApprovalDesk } from './approval-desk';
import type { CodeDeployStandIn } from './codedeploy-stand-in';
import { createHookLogRecorder } from './hook-log-recorder';
import type { RehearsalPace } from './rehearsal-pace';
import type { Scenario } from './scenarios';
import type { TimelineEvent } from './timeline';

/** What a hook invocation needs from the rehearsal that runs it. */
export interface HookRun {
  config: LoadedConfig;
  renderedPath: string;
  client: CodeDeployClient;
  codedeploy: CodeDeployStandIn;
  deploymentId: string;
  scenario: Scenario;
  pace: RehearsalPace;
  desk: RehearsalApprovalDesk;
  emit: (event: TimelineEvent) => void;
  /** ms since the rehearsal started, for the timeline. */
  at: () => number;
  /** Steps run when the rehearsal ends (an approver's pending timer). */
  cleanup: Array<() => Promise<void>>;
}

/** How a hook ended; a Failed one says why the deployment rolls back. */
export type HookRunOutcome = { status: 'Succeeded' } | { status: 'Failed'; reason: string };

/**
 * Invokes a lifecycle event's hook as CodeDeploy does and waits for its report: the real hook
 * handler with a real event, reporting through the real AWS SDK to the CodeDeploy stand-in.
 */
export async function invokeHook(hook: LifecycleEvent, run: HookRun): Promise<HookRunOutcome> {
  const { config, renderedPath, client, codedeploy, deploymentId, scenario, pace, desk, emit, at, cleanup } =
    run;
  const planned = config.plan(hook);
  if (planned.length === 0) {
    emit({ kind: 'hook-skipped', atMs: at(), hook });
    return { status: 'Succeeded' };
  }
  emit({ kind: 'hook-invoked', atMs: at(), hook, checks: planned.map((p) => p.check.name) });
  let verdictReason = 'the hook logged no verdict';
  const log = createHookLogRecorder((line) => {
    if (line.message === 'check result')
      emit({ kind: 'check', atMs: at(), hook, result: line.attributes.check as CheckResult });
    if (line.message === 'verdict' && typeof line.attributes.reason === 'string')
      verdictReason = line.attributes.reason;
  });
  const handler = createHookHandler(hook, {
    configPath: renderedPath,
    codedeploy: client,
    log,
    // The timeline is the rehearsal's output: the metric lines a Lambda would log stay out of it.
    metrics: false,
    // There is no ECS to read green's tasks from: Install shows their diagnosis instead.
    diagnoseGreen: false,
    // Bake windows and approvals run on deployment minutes, as fast as the rehearsal plays them.
    gate: {
      clock: scaledClock(60_000 / pace.minuteMs, Date.now()),
      approvals: desk,
      announce: async (event) => {
        const approver = scenario.approver;
        if (event.kind !== 'approval-requested' || !approver) return;
        const timer = setTimeout(
          () =>
            desk.decide(event.deploymentId, {
              decision: 'approved',
              approver: 'arn:aws:sts::123456789012:assumed-role/ReleaseManagers/rehearsal',
              reason: 'rehearsal: dashboards look fine',
              decidedAt: Date.now(),
            }),
          approver.approvesAfterMinutes * pace.minuteMs,
        );
        cleanup.push(async () => clearTimeout(timer));
      },
    },
  });
  const execution = codedeploy.openExecution(deploymentId, hook);
  const lambdaDeadline = Date.now() + pace.hookTimeoutMs;
  const invocation = handler(
    { DeploymentId: deploymentId, LifecycleEventHookExecutionId: execution.executionId },
    {
      getRemainingTimeInMillis: () => Math.max(0, lambdaDeadline - Date.now()),
      awsRequestId: `rehearsal-${hook}`,
    },
  ).catch((err: unknown) => {
    verdictReason = `the hook failed: ${errorMessage(err)}`;
  });
  // The stand-in's report never rejects: a rejection here is the wait running out.
  const report = await withinDeadline(execution.reported, { timeoutMs: pace.reportWaitMs }).catch(
    () => undefined,
  );
  await withinDeadline(invocation, { timeoutMs: 1_000 }).catch(() => {});
  if (!report) {
    const why = `no report within ${pace.reportWaitMs} ms (CodeDeploy waits an hour): ${verdictReason}`;
    emit({
      kind: 'hook-reported',
      atMs: at(),
      hook,
      status: 'Failed',
      reason: why,
      reportedBy: 'timed out',
    });
    return { status: 'Failed', reason: why };
  }
  emit({
    kind: 'hook-reported',
    atMs: at(),
    hook,
    status: report.status,
    reason: verdictReason,
    reportedBy: 'PutLifecycleEventHookExecutionStatus',
  });
  return report.status === 'Failed' ? { status: 'Failed', reason: verdictReason } : { status: 'Succeeded' };
}
