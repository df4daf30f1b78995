// The hook execution's DynamoDB item: claimed, written and marked reported only under its version and owner.
import type { Verdict } from '../../checks/runner';
import type { CodeDeployStatus } from '../../checks/verdict';
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
import { newGateState, type GateState } from './gate-state';
import { HANDOVER_RESERVE_MS, type SliceOptions, type SliceOutcome } from './slice-options';

/** An item this invocation now owns, or why it leaves the hook execution to another one. */
export type Claim = { version: number; state: GateState; slice: number } | { standDown: string };

/**
 * Takes ownership of the hook execution's item for this invocation: creates it (slice 0), takes
 * it when it was handed to this slice, or takes it over when its owner's lease has run out.
 * A live owner is waited for while this invocation has time; otherwise this one stands down.
 */
export async function claim(
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

/** Writes the item when this invocation still owns it at the version it last wrote. */
export async function writeNamed(
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

/** Takes back an item this invocation handed over, when nobody has claimed it since. */
export async function retake(
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
export async function finalize(
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
