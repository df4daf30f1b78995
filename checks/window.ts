import { z } from 'zod';
import type { Assertion, CheckResult, Outcome } from './types';

/** The check types whose single run is a measurement that can be repeated over a window. */
export const WINDOW_CHECK_TYPES: readonly string[] = ['alarms', 'metrics', 'target-groups', 'http'];

/** ECS hooks may wait up to a day (the hook's longest timeoutConfiguration). */
export const MAX_WINDOW_MINUTES = 1_440;

export const windowSchema = z
  .strictObject({
    durationMinutes: z
      .number()
      .positive()
      .max(MAX_WINDOW_MINUTES)
      .describe('How long the check is watched, from its first measurement to its last.'),
    intervalSeconds: z.int().min(1).default(60).describe('Time between the starts of two measurements.'),
    failureLimit: z
      .int()
      .min(0)
      .default(0)
      .describe('Measurements that may end other than passed; one more fails the check at once.'),
    minSuccesses: z
      .int()
      .min(1)
      .default(1)
      .describe('Passed measurements needed at the end (measurements missed while late do not count).'),
  })
  .describe(
    'Bake window: measure this check every intervalSeconds for durationMinutes, keeping every measurement.',
  );

export type WindowSpec = z.output<typeof windowSchema>;

/** How many measurements a window plans: one at its start and one every interval to its end. */
export function plannedMeasurements(spec: WindowSpec): number {
  return Math.floor((spec.durationMinutes * 60) / spec.intervalSeconds) + 1;
}

/** One measurement as kept in a window's record: what the check said, and its evidence. */
export interface MeasurementRecord {
  n: number;
  /** Epoch ms (window clock) the measurement started. */
  at: number;
  outcome: Outcome;
  message: string;
  assertions: Assertion[];
}

const MAX_MESSAGE_CHARS = 400;
const MAX_ASSERTIONS_KEPT = 10;

/** A check result reduced to what a window keeps (bounded, so a day of measurements fits the state). */
export function measurementOf(n: number, at: number, result: CheckResult): MeasurementRecord {
  return {
    n,
    at,
    outcome: result.outcome,
    message: result.message.slice(0, MAX_MESSAGE_CHARS),
    assertions: result.assertions.slice(0, MAX_ASSERTIONS_KEPT).map((a) => ({
      what: a.what,
      expected: a.expected,
      actual: typeof a.actual === 'string' ? a.actual.slice(0, MAX_MESSAGE_CHARS) : a.actual,
      ok: a.ok,
    })),
  };
}

export type WindowJudgement = { state: 'running' } | { state: 'done'; outcome: Outcome; message: string };

/**
 * Argo Rollouts' rule over a window's measurements: one not-passed measurement more than
 * `failureLimit` ends the window at once with that measurement's outcome and evidence; when the
 * window is over, fewer than `minSuccesses` passed measurements leave it inconclusive.
 */
export function judgeWindow(
  spec: WindowSpec,
  measurements: readonly MeasurementRecord[],
  over: boolean,
): WindowJudgement {
  const planned = plannedMeasurements(spec);
  const bad = measurements.filter((m) => m.outcome !== 'passed');
  if (bad.length > spec.failureLimit) {
    const last = bad[bad.length - 1]!;
    const evidence = last.assertions
      .filter((a) => !a.ok)
      .map((a) => `${a.what}: expected ${String(a.expected)}, got ${JSON.stringify(a.actual)}`)
      .join('; ');
    return {
      state: 'done',
      outcome: last.outcome,
      message: `measurement ${last.n} of ${planned} ${last.outcome} at ${new Date(last.at).toISOString()}: ${last.message}${evidence && !last.message.includes(evidence) ? ` [${evidence}]` : ''} (${bad.length} not passed, failureLimit ${spec.failureLimit})`,
    };
  }
  if (!over) return { state: 'running' };
  const passed = measurements.length - bad.length;
  const tolerated = bad.length ? `, ${bad.length} tolerated by failureLimit ${spec.failureLimit}` : '';
  const missed = planned - measurements.length;
  const missedText = missed > 0 ? `, ${missed} missed` : '';
  if (passed < spec.minSuccesses) {
    return {
      state: 'done',
      outcome: 'inconclusive',
      message: `only ${passed} of ${measurements.length} measurements over ${spec.durationMinutes} min passed, expected at least ${spec.minSuccesses} (minSuccesses)${missedText}`,
    };
  }
  return {
    state: 'done',
    outcome: 'passed',
    message: `${passed} of ${measurements.length} measurements over ${spec.durationMinutes} min passed${tolerated}${missedText}`,
  };
}
