import type { DescribeAlarmsInput } from '@aws-sdk/client-cloudwatch';
import { AwsCallError, cloudWatchSdk, sendWithin, type CloudWatchSender } from '../cloudwatch/client';
import type { CheckContext } from '../types';

/** DescribeAlarms accepts at most 100 names per call. */
const NAMES_PER_CALL = 100;
/** 100 pages of 100 alarms: far beyond any real prefix, and a stop for a server that pages forever. */
const MAX_PAGES = 100;

/** One alarm as the check judges it. */
export interface AlarmState {
  name: string;
  type: 'metric' | 'composite';
  state: string;
  reason: string;
  /** When it last changed state (StateTransitionedTimestamp, else StateUpdatedTimestamp). */
  since?: Date;
  /** In ALARM since before the deployment started. */
  preExisting?: boolean;
}

/** What DescribeAlarms said about some names: the alarms found, and the names it could not be asked about. */
export interface AlarmsByName {
  found: Map<string, AlarmState>;
  /** The names of batches whose call failed, when `onBatchError` took the failure. */
  unasked: Set<string>;
}

/**
 * Which of `names` exist, asked 100 names a call, each call under its own `within()` signal and
 * deadline. A failed call throws, unless `onBatchError` takes it: its names are then unasked.
 * The alarms check and `greenlight validate` both ask this way.
 */
export async function alarmsByName(
  client: CloudWatchSender,
  names: readonly string[],
  within: () => Pick<CheckContext, 'signal' | 'deadline'>,
  onBatchError?: (batch: string[], err: unknown) => void,
): Promise<AlarmsByName> {
  const found = new Map<string, AlarmState>();
  const unasked = new Set<string>();
  for (let i = 0; i < names.length; i += NAMES_PER_CALL) {
    const batch = names.slice(i, i + NAMES_PER_CALL);
    try {
      for (const alarm of await describeAll(client, { AlarmNames: batch }, within()))
        found.set(alarm.name, alarm);
    } catch (err) {
      if (!onBatchError) throw err;
      batch.forEach((name) => unasked.add(name));
      onBatchError(batch, err);
    }
  }
  return { found, unasked };
}

/**
 * Every metric and composite alarm DescribeAlarms returns for `input`, following NextToken up to
 * a bound, each call under the caller's signal and deadline. Also used by `greenlight validate`.
 */
export async function describeAll(
  client: CloudWatchSender,
  input: DescribeAlarmsInput,
  ctx: Pick<CheckContext, 'signal' | 'deadline'>,
): Promise<AlarmState[]> {
  const { DescribeAlarmsCommand } = await cloudWatchSdk();
  const out: AlarmState[] = [];
  let nextToken: string | undefined;
  const seen = new Set<string>();
  let pages = 0;
  do {
    if (++pages > MAX_PAGES)
      throw new AwsCallError(`DescribeAlarms still had more pages after ${MAX_PAGES}; use a narrower prefix`);
    const token = nextToken;
    const page = await sendWithin(
      { service: 'cloudwatch', operation: 'DescribeAlarms' },
      ctx,
      (abortSignal) =>
        client.send(
          new DescribeAlarmsCommand({
            ...input,
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            MaxRecords: 100,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal },
        ),
    );
    for (const a of page.MetricAlarms ?? []) out.push(toState(a, 'metric'));
    for (const a of page.CompositeAlarms ?? []) out.push(toState(a, 'composite'));
    nextToken = page.NextToken || undefined;
    if (nextToken) {
      if (seen.has(nextToken))
        throw new AwsCallError('DescribeAlarms returned a NextToken it had already returned; stopped paging');
      seen.add(nextToken);
    }
  } while (nextToken);
  return out;
}

function toState(
  alarm: {
    AlarmName?: string;
    StateValue?: string;
    StateReason?: string;
    StateTransitionedTimestamp?: Date;
    StateUpdatedTimestamp?: Date;
  },
  type: AlarmState['type'],
): AlarmState {
  const state: AlarmState = {
    name: alarm.AlarmName ?? '(unnamed)',
    type,
    state: alarm.StateValue ?? 'UNKNOWN',
    reason: alarm.StateReason ?? '',
  };
  const since = alarm.StateTransitionedTimestamp ?? alarm.StateUpdatedTimestamp;
  if (since) state.since = since;
  return state;
}
