import type { Logger } from '../lib/log';

/**
 * What a check found. Argo Rollouts' four phases:
 * - `passed`: green is good;
 * - `failed`: green is bad (a 503 from /health, an alarm in ALARM);
 * - `error`: we could not tell (DNS failure, AccessDenied, a thrown exception, a timeout);
 * - `inconclusive`: there was nothing to judge (no datapoints, no sessions to sample).
 */
export type Outcome = 'passed' | 'failed' | 'error' | 'inconclusive';

export const OUTCOMES: readonly Outcome[] = ['passed', 'inconclusive', 'error', 'failed'];

/** One piece of evidence: what was measured, what was wanted, what was seen. */
export interface Assertion {
  what: string;
  expected: unknown;
  actual: unknown;
  ok: boolean;
}

/** What a check's `run` resolves to; the runner adds name, type, timing and advisory. */
export interface CheckReport {
  outcome: Outcome;
  /** One line, suitable for a CodeDeploy console and a terminal. */
  message: string;
  assertions?: Assertion[];
  /** Structured extras for logs and JSON output (never secrets, never session values). */
  details?: Record<string, unknown>;
}

/** A finished check, as the runner records it. */
export interface CheckResult {
  name: string;
  type: string;
  outcome: Outcome;
  message: string;
  durationMs: number;
  advisory: boolean;
  assertions: Assertion[];
  details?: Record<string, unknown>;
  /** Set when the runner stopped the check (deadline or fail-fast) before it finished. */
  cancelled?: boolean;
}

export type LifecycleEvent =
  'BeforeInstall' | 'AfterInstall' | 'AfterAllowTestTraffic' | 'BeforeAllowTraffic' | 'AfterAllowTraffic';

export const LIFECYCLE_EVENTS: readonly LifecycleEvent[] = [
  'BeforeInstall',
  'AfterInstall',
  'AfterAllowTestTraffic',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
];

/** What the deployment is, as far as the caller knows it (the CLI knows less than a hook). */
export interface DeploymentInfo {
  deploymentId?: string;
  lifecycleEventHookExecutionId?: string;
  lifecycleEvent: LifecycleEvent | string;
}

/** Everything a check may use while it runs. */
export interface CheckContext {
  /** Fires on the hook deadline, or when another gating check has already decided the verdict. */
  signal: AbortSignal;
  /** Epoch milliseconds by which the check must have returned. */
  deadline: number;
  /** Named base URLs: at least `test` (the test listener); usually `prod`. */
  targets: Readonly<Record<string, URL>>;
  deployment: DeploymentInfo;
  log: Logger;
}

/**
 * A configured check, built once by its type's factory from validated options (at cold start
 * or CLI start), then run once per lifecycle event. `run` should not throw: an exception is
 * recorded by the runner as `error` with its message.
 */
export interface Check {
  name: string;
  type: string;
  run(ctx: CheckContext): Promise<CheckReport>;
}
