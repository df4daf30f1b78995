import type { Context } from 'aws-lambda';
import type { PlannedCheck } from '../../checks/runner';
import type { LoadedConfig } from '../../config/config';
import type { ApprovalDesk } from '../../lib/approval-store';
import { clockFromEnv, type Clock } from '../../lib/clock';
import type { Logger } from '../../lib/log';
import { defaultDynamoClient, stateTableName, type DynamoSender } from '../../lib/state-table';
import type { HookExecution } from '../codedeploy-report';
import { defaultAnnounce, type Announce } from './announce';
import { runGateSlice } from './codedeploy-slices';
import type { LambdaSender, SliceOutcome } from './slice-options';

/**
 * What the hooks' bake windows and approvals use, all optional: the clock (default: the system
 * clock, or `GREENLIGHT_CLOCK_SCALE` for rehearsals), the announcer the notification channels
 * plug into, the state table (default `GREENLIGHT_STATE_TABLE`) and the AWS clients.
 */
export interface GateOptions {
  clock?: Clock;
  announce?: Announce;
  table?: string;
  dynamo?: () => Promise<DynamoSender>;
  lambda?: () => Promise<LambdaSender>;
  /** Where approvals are filed and decided (default: the state table). */
  approvals?: ApprovalDesk;
}

/** The CodeDeploy hook's entry into a gated lifecycle event: one slice of it. */
export function runGatedHook(
  planned: readonly PlannedCheck[],
  config: Pick<LoadedConfig, 'runner'>,
  targets: Readonly<Record<string, URL>>,
  args: {
    execution: HookExecution;
    lifecycleEvent: string;
    event: unknown;
    context: Partial<Pick<Context, 'awsRequestId' | 'invokedFunctionArn'>> | undefined;
    timeLeftMs: () => number;
    log: Logger;
    options: GateOptions | undefined;
  },
): Promise<SliceOutcome> {
  const o = args.options ?? {};
  return runGateSlice({
    execution: args.execution,
    lifecycleEvent: args.lifecycleEvent,
    event: args.event,
    planned,
    targets,
    runner: config.runner,
    clock: o.clock ?? clockFromEnv(),
    timeLeftMs: args.timeLeftMs,
    log: args.log,
    announce: o.announce ?? defaultAnnounce,
    requestId: args.context?.awsRequestId ?? `local-${process.pid}-${Date.now()}`,
    functionName: args.context?.invokedFunctionArn,
    table: o.table ?? stateTableName(),
    dynamo: o.dynamo ?? defaultDynamoClient,
    lambda: o.lambda,
    approvals: o.approvals,
  });
}
