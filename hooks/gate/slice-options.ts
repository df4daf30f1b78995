// What one slice of a CodeDeploy hook's gate is given and what it answers.
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { PlannedCheck, Verdict } from '../../checks/runner';
import type { CodeDeployStatus } from '../../checks/verdict';
import type { ApprovalDesk } from '../../lib/approval-store';
import type { Clock } from '../../lib/clock';
import type { Logger } from '../../lib/log';
import type { DynamoSender } from '../../lib/state-table';
import type { HookExecution } from '../codedeploy-report';
import type { Announce } from './announce';

/** Real time kept back in a slice for handing over to the next one. */
export const HANDOVER_RESERVE_MS = 5_000;

export type LambdaSender = Pick<LambdaClient, 'send'>;

export interface SliceOptions {
  execution: HookExecution;
  lifecycleEvent: string;
  /** The raw event: a continuation carries its slice number. */
  event: unknown;
  planned: readonly PlannedCheck[];
  targets: Readonly<Record<string, URL>>;
  runner: { concurrency: number; failFast: boolean };
  clock: Clock;
  /** Real ms left for checks in this invocation (the report reserve already taken off). */
  timeLeftMs(): number;
  log: Logger;
  announce: Announce;
  requestId: string;
  /** This function, for the next slice: the context's invokedFunctionArn, else AWS_LAMBDA_FUNCTION_NAME. */
  functionName?: string | undefined;
  table?: string | undefined;
  dynamo: () => Promise<DynamoSender>;
  lambda?: (() => Promise<LambdaSender>) | undefined;
  /** Where approvals are filed (default: the state table). */
  approvals?: ApprovalDesk | undefined;
}

export type SliceOutcome =
  | { report: true; status: CodeDeployStatus; reason: string; verdict?: Verdict }
  | { report: false; reason: string };
