// The state of a gate (bake windows and an approval) and what each invocation advancing it is given.
import type { PlannedCheck, Verdict } from '../../checks/runner';
import type { CheckResult, DeploymentInfo, Outcome } from '../../checks/types';
import type { MeasurementRecord } from '../../checks/window';
import type { ApprovalDecision, ApprovalDesk } from '../../lib/approval-store';
import type { Clock } from '../../lib/clock';
import type { Logger } from '../../lib/log';
import type { Announce } from './announce';

// A gate is a lifecycle event's checks when some of them take longer than one run: bake windows
// (a check measured every interval for a duration) and a manual approval. Its state is plain
// JSON, so a CodeDeploy hook keeps it in DynamoDB between invocations and an ECS hook in
// hookDetails; each invocation advances it as far as its time allows.

/** A window's progress. Times are epoch ms of the gate's clock. */
export interface WindowProgress {
  startedAt: number;
  nextAt: number;
  measurements: MeasurementRecord[];
  done?: { outcome: Outcome; message: string };
}

export interface ApprovalProgress {
  requestedAt: number;
  timeoutAt: number;
  nextPollAt: number;
  decision?: ApprovalDecision;
  done?: { outcome: Outcome; message: string };
}

export interface GateState {
  startedAt: number;
  /** Results of the checks that run once, when they have run. */
  plain?: CheckResult[];
  windows: Record<string, WindowProgress>;
  approval?: ApprovalProgress;
}

export interface GateContext {
  planned: readonly PlannedCheck[];
  clock: Clock;
  /** Real milliseconds this invocation may still spend on checks. */
  timeLeftMs(): number;
  /** Clock time by which the gate must have decided (the hook's own limit, less a margin). */
  limitAt: number;
  /** Sleep inside this invocation until the next measurement, when it fits (CodeDeploy); ECS hands the wait back. */
  sleepWithin: boolean;
  targets: Readonly<Record<string, URL>>;
  deployment: DeploymentInfo & { deploymentId: string };
  /** Which wait an approval belongs to: a decision made for another request is not taken. */
  approvalRequestKey: string;
  log: Logger;
  concurrency?: number;
  failFast?: boolean;
  /** Where the approval request goes and its decision comes from (the state table). */
  approvals?: ApprovalDesk | undefined;
  announce: Announce;
  /** Called after every change of the state; throwing stops the gate (e.g. its lease was lost). */
  persist?: (state: GateState) => Promise<void>;
}

export type GateStep =
  | { kind: 'decided'; verdict: Verdict; state: GateState }
  | { kind: 'waiting'; state: GateState; wakeAt: number; reason: string };

export function newGateState(now: number): GateState {
  return { startedAt: now, windows: {} };
}
