import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { PlannedCheck, Verdict } from '../../checks/runner';
import type { CodeDeployStatus } from '../../checks/verdict';
import { awsClientConfig } from '../../lib/aws';
import { dynamoApprovalDesk, type ApprovalDesk } from '../../lib/approval-store';
import type { Clock } from '../../lib/clock';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import {
  getItem,
  isConditionFailure,
  ITEM_TTL_SECONDS,
  num,
  readNumber,
  readString,
  str,
  type DynamoSender,
  type Item,
} from '../../lib/state-table';
import type { HookExecution } from '../codedeploy-report';
import type { Announce } from './announce';
import { advanceGate } from './gate';
import { gateLimitProblem } from './gate-parts';
import { newGateState, type GateContext, type GateState } from './gate-state';

// A CodeDeploy hook's gate across several Lambda invocations ("slices"). The state lives in one
// DynamoDB item per hook execution (`hook#<lifecycleEventHookExecutionId>`), and every write is
// conditional on the version read, so only one invocation owns the gate at a time:
// - a slice owns the item (owner + lease) while it measures and renews the lease at every step;
// - at the end of its time it hands the item to slice N+1 (owner removed) and invokes the
//   function again asynchronously with `greenlightSlice: N+1`;
// - a duplicate delivery finds the item owned (or handed to another slice) and stands down;
//   a retry after a crash takes the item over once its lease has expired, with every
//   measurement saved so far;
// - the slice that decides marks the item reported before reporting: exactly one report.

/** CodeDeploy fails a hook that has not reported within an hour; the gate decides before this. */
export const CODEDEPLOY_GATE_LIMIT_MINUTES = 55;
/** Real time kept back in a slice for handing over to the next one. */
const HANDOVER_RESERVE_MS = 5_000;
/** How long past its next planned step a silent owner is still presumed alive. */
const LEASE_GRACE_MS = 60_000;
/** The event field that carries the slice number of a continuation. */
export const SLICE_FIELD = 'greenlightSlice';

export type LambdaSender = Pick<LambdaClient, 'send'>;

let defaultLambda: Promise<LambdaSender> | undefined;
function defaultLambdaClient(): Promise<LambdaSender> {
  defaultLambda ??= import('@aws-sdk/client-lambda').then(
    ({ LambdaClient }) => new LambdaClient(awsClientConfig()),
  );
  return defaultLambda;
}

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

/** The slice number an event carries (0 for CodeDeploy's own invocation). */
export function sliceOf(event: unknown): number {
  const value = (event as Record<string, unknown> | null)?.[SLICE_FIELD];
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 0;
}

/** Runs this invocation's part of a gated hook; says whether (and what) to report. */
export async function runGateSlice(o: SliceOptions): Promise<SliceOutcome> {
  const problem = gateLimitProblem(o.planned, CODEDEPLOY_GATE_LIMIT_MINUTES);
  if (problem) return { report: true, status: 'Failed', reason: `config error: ${problem}` };
  if (!o.table) return inMemory(o);

  const client = await o.dynamo();
  const table = o.table;
  const pk = `hook#${o.execution.lifecycleEventHookExecutionId}`;
  const slice = sliceOf(o.event);
  const leaseMs = leaseLength(o.planned);
  const log = o.log.child({ slice });

  const claimed = await claim(client, table, pk, slice, o, leaseMs, log);
  if ('standDown' in claimed) {
    log.info('standing down: another invocation owns this hook execution', { reason: claimed.standDown });
    return { report: false, reason: claimed.standDown };
  }
  let version = claimed.version;
  const state = claimed.state;
  const ctx = gateContext(o, state, o.timeLeftMs, o.approvals ?? dynamoApprovalDesk(client, table));
  ctx.persist = async (saved: GateState) => {
    const next = nextStepAt(saved) ?? o.clock.now();
    await writeNamed(client, table, pk, version, o.requestId, {
      update: '#state = :state, leaseUntil = :lease',
      values: {
        ':state': str(JSON.stringify(saved)),
        ':lease': num(Math.max(o.clock.now(), next) + leaseMs),
      },
    });
    version += 1;
  };

  let step;
  try {
    step = await advanceGate(state, ctx);
  } catch (err) {
    if (isConditionFailure(err)) {
      log.warn('lost this hook execution to another invocation; standing down');
      return { report: false, reason: 'lease lost to another invocation' };
    }
    throw err;
  }

  if (step.kind === 'waiting') {
    const next = readNumberOr(claimed.slice, 0) + 1;
    try {
      await writeNamed(client, table, pk, version, o.requestId, {
        update: '#state = :state, slice = :slice, leaseUntil = :lease',
        remove: '#owner',
        values: {
          ':state': str(JSON.stringify(step.state)),
          ':slice': num(next),
          ':lease': num(o.clock.now() + leaseMs),
        },
      });
      version += 1;
    } catch (err) {
      if (isConditionFailure(err)) return { report: false, reason: 'lease lost to another invocation' };
      throw err;
    }
    try {
      await invokeNext(o, next);
    } catch (err) {
      // Nobody will carry the gate on: take it back and fail closed rather than leave CodeDeploy waiting.
      const reason = `could not start the next slice of the bake window: ${errorMessage(err)}`;
      log.error('handover failed', { reason });
      const retaken = await retake(client, table, pk, version, o.requestId).catch(() => false);
      if (!retaken) return { report: false, reason };
      version += 1;
      return finalize(client, table, pk, version, o.requestId, { status: 'Failed', reason }, log);
    }
    log.info('handed over to the next slice', {
      next,
      wakeAt: new Date(step.wakeAt).toISOString(),
      reason: step.reason,
    });
    return { report: false, reason: `continued in slice ${next}: ${step.reason}` };
  }
  return finalize(
    client,
    table,
    pk,
    version,
    o.requestId,
    { status: step.verdict.status, reason: step.verdict.reason, verdict: step.verdict },
    log,
    JSON.stringify(step.state),
  );
}

/** Without a state table the gate must decide within this one invocation. */
async function inMemory(o: SliceOptions): Promise<SliceOutcome> {
  const state = newGateState(o.clock.now());
  const step = await advanceGate(state, gateContext(o, state, o.timeLeftMs, o.approvals));
  if (step.kind === 'decided')
    return { report: true, status: step.verdict.status, reason: step.verdict.reason, verdict: step.verdict };
  return {
    report: true,
    status: 'Failed',
    reason: `the bake window needs more time than one invocation (${step.reason}); set GREENLIGHT_STATE_TABLE so that it continues across invocations`,
  };
}

function gateContext(
  o: SliceOptions,
  state: GateState,
  timeLeftMs: () => number,
  approvals: GateContext['approvals'],
): GateContext {
  return {
    planned: o.planned,
    clock: o.clock,
    timeLeftMs: () => timeLeftMs() - HANDOVER_RESERVE_MS,
    limitAt: state.startedAt + CODEDEPLOY_GATE_LIMIT_MINUTES * 60_000,
    sleepWithin: true,
    targets: o.targets,
    deployment: {
      deploymentId: o.execution.deploymentId,
      lifecycleEventHookExecutionId: o.execution.lifecycleEventHookExecutionId,
      lifecycleEvent: o.lifecycleEvent,
    },
    approvalRequestKey: `${o.execution.lifecycleEventHookExecutionId}`,
    log: o.log,
    concurrency: o.runner.concurrency,
    failFast: o.runner.failFast,
    approvals,
    announce: o.announce,
  };
}

function leaseLength(planned: readonly PlannedCheck[]): number {
  const steps = planned.map((p) =>
    p.window ? p.window.intervalSeconds * 1000 : 'approval' in p.check ? 300_000 : 0,
  );
  return Math.max(0, ...steps) + LEASE_GRACE_MS;
}

function nextStepAt(state: GateState): number | undefined {
  const times = Object.values(state.windows)
    .filter((w) => !w.done)
    .map((w) => w.nextAt);
  if (state.approval && !state.approval.done) times.push(state.approval.nextPollAt);
  return times.length ? Math.min(...times) : undefined;
}

const readNumberOr = (value: number | undefined, fallback: number) => value ?? fallback;

type Claim = { version: number; state: GateState; slice: number } | { standDown: string };

/**
 * Takes ownership of the hook execution's item for this invocation: creates it (slice 0), takes
 * it when it was handed to this slice, or takes it over when its owner's lease has run out.
 * A live owner is waited for while this invocation has time; otherwise this one stands down.
 */
async function claim(
  client: DynamoSender,
  table: string,
  pk: string,
  slice: number,
  o: SliceOptions,
  leaseMs: number,
  log: Logger,
): Promise<Claim> {
  const { PutItemCommand, UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  for (let round = 0; round < 50; round++) {
    const item = await getItem(client, table, pk);
    const now = o.clock.now();
    if (!item) {
      if (slice > 0) return { standDown: `no saved state for slice ${slice}` };
      const state = newGateState(now);
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: {
              pk: str(pk),
              version: num(1),
              slice: num(0),
              owner: str(o.requestId),
              leaseUntil: num(now + leaseMs),
              state: str(JSON.stringify(state)),
              deploymentId: str(o.execution.deploymentId),
              lifecycleEvent: str(o.lifecycleEvent),
              expiresAt: num(Math.floor(Date.now() / 1000) + ITEM_TTL_SECONDS),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return { version: 1, state, slice: 0 };
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        continue;
      }
    }
    const reported = readString(item, 'reported');
    if (reported) return { standDown: `already reported ${reported}` };
    const version = readNumber(item, 'version') ?? 0;
    const itemSlice = readNumber(item, 'slice') ?? 0;
    const owner = readString(item, 'owner');
    const leaseUntil = readNumber(item, 'leaseUntil') ?? 0;
    const handedToMe = !owner && itemSlice === slice;
    if (handedToMe || leaseUntil <= now) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pk: str(pk) },
            UpdateExpression: 'SET #owner = :me, leaseUntil = :lease, version = :next',
            ConditionExpression: 'version = :v',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':me': str(o.requestId),
              ':lease': num(now + leaseMs),
              ':v': num(version),
              ':next': num(version + 1),
            },
          }),
        );
      } catch (err) {
        if (!isConditionFailure(err)) throw err;
        continue;
      }
      if (!handedToMe)
        log.warn('took over a hook execution whose owner stopped renewing its lease', {
          previousOwner: owner,
          slice: itemSlice,
        });
      return {
        version: version + 1,
        state: JSON.parse(readString(item, 'state') ?? '{}') as GateState,
        slice: itemSlice,
      };
    }
    // Handed to another slice whose invocation is on its way: that one carries on.
    if (!owner) return { standDown: `handed to slice ${itemSlice}` };
    // Owned: the owner may have crashed. Wait for its lease while this invocation has time.
    const waitMs = leaseUntil - now;
    if (o.clock.toRealMs(waitMs) >= o.timeLeftMs() - HANDOVER_RESERVE_MS) {
      return {
        standDown: `slice ${itemSlice} is owned by ${owner} until ${new Date(leaseUntil).toISOString()}`,
      };
    }
    await o.clock.sleep(Math.min(waitMs + 1, 60_000));
  }
  return { standDown: 'could not claim the hook execution' };
}

async function writeNamed(
  client: DynamoSender,
  table: string,
  pk: string,
  version: number,
  me: string,
  w: { update: string; remove?: string; values: Item },
): Promise<void> {
  const { UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: str(pk) },
      UpdateExpression: `SET ${w.update}, version = :next${w.remove ? ` REMOVE ${w.remove}` : ''}`,
      ConditionExpression: 'version = :v AND #owner = :me',
      ExpressionAttributeNames: {
        '#owner': 'owner',
        ...(w.update.includes('#state') ? { '#state': 'state' } : {}),
      },
      ExpressionAttributeValues: {
        ...w.values,
        ':v': num(version),
        ':next': num(version + 1),
        ':me': str(me),
      },
    }),
  );
}

async function retake(
  client: DynamoSender,
  table: string,
  pk: string,
  version: number,
  me: string,
): Promise<boolean> {
  const { UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  await client.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { pk: str(pk) },
      UpdateExpression: 'SET #owner = :me, version = :next',
      ConditionExpression: 'version = :v AND attribute_not_exists(#owner)',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':me': str(me), ':v': num(version), ':next': num(version + 1) },
    }),
  );
  return true;
}

/** Marks the item reported (only its owner can); the caller then sends the one report. */
async function finalize(
  client: DynamoSender,
  table: string,
  pk: string,
  version: number,
  me: string,
  decision: { status: CodeDeployStatus; reason: string; verdict?: Verdict },
  log: Logger,
  stateJson?: string,
): Promise<SliceOutcome> {
  try {
    await writeNamed(client, table, pk, version, me, {
      update: `reported = :status, reason = :reason${stateJson ? ', #state = :state' : ''}`,
      remove: '#owner',
      values: {
        ':status': str(decision.status),
        ':reason': str(decision.reason.slice(0, 2_000)),
        ...(stateJson ? { ':state': str(stateJson) } : {}),
      },
    });
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    log.warn('another invocation took this hook execution before the report; standing down');
    return { report: false, reason: 'lease lost before the report' };
  }
  return { report: true, ...decision };
}

async function invokeNext(o: SliceOptions, next: number): Promise<void> {
  const functionName = o.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
  if (!functionName) throw new Error('this function does not know its own name (AWS_LAMBDA_FUNCTION_NAME)');
  const [{ InvokeCommand }, lambda] = await Promise.all([
    import('@aws-sdk/client-lambda'),
    (o.lambda ?? defaultLambdaClient)(),
  ]);
  const payload = {
    DeploymentId: o.execution.deploymentId,
    LifecycleEventHookExecutionId: o.execution.lifecycleEventHookExecutionId,
    [SLICE_FIELD]: next,
  };
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  if (out.StatusCode !== undefined && out.StatusCode !== 202)
    throw new Error(`Lambda Invoke answered ${out.StatusCode}, expected 202`);
}
