import { z } from 'zod';
import type { MetricPoint } from './metric-data';

/** How a window's datapoints become one value. */
export const AGGREGATES = ['last', 'avg', 'max', 'min', 'sum'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

const BOUNDS = ['below', 'atMost', 'above', 'atLeast'] as const;
type Bound = (typeof BOUNDS)[number];

const BOUND_TEXT: Record<Bound, string> = {
  below: 'below',
  atMost: 'at most',
  above: 'above',
  atLeast: 'at least',
};

/**
 * When a series is good: an aggregate of its datapoints against a threshold, e.g.
 * `{ aggregate: max, below: 5 }`. Words rather than `<`/`>` because a bare `>` starts a folded
 * scalar in YAML.
 */
export const conditionSchema = z
  .strictObject({
    aggregate: z.enum(AGGREGATES).default('last').describe('How the window’s datapoints become one value.'),
    below: z.number().optional().describe('Passes when the value is < this.'),
    atMost: z.number().optional().describe('Passes when the value is ≤ this.'),
    above: z.number().optional().describe('Passes when the value is > this.'),
    atLeast: z.number().optional().describe('Passes when the value is ≥ this.'),
  })
  .superRefine((condition, issues) => {
    const given = BOUNDS.filter((b) => condition[b] !== undefined);
    if (given.length !== 1) {
      issues.addIssue({
        code: 'custom',
        path: [],
        message: `expected exactly one of below, atMost, above, atLeast${given.length ? `, got ${given.join(' and ')}` : ''}`,
        input: condition,
      });
    }
  });

export type Condition = z.output<typeof conditionSchema>;

/** One value from a window of datapoints (at least one): the newest, the mean, the largest, the smallest or the total. */
export function aggregate(points: readonly MetricPoint[], how: Aggregate): number {
  const values = points.map((p) => p.value);
  switch (how) {
    case 'last':
      return values[values.length - 1]!;
    case 'avg':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'max':
      return Math.max(...values);
    case 'min':
      return Math.min(...values);
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
  }
}

/** The threshold of a condition, as `{ bound, threshold, text }` (`text` reads "below 5"). */
export function thresholdOf(condition: Condition): { bound: Bound; threshold: number; text: string } {
  const bound = BOUNDS.find((b) => condition[b] !== undefined)!;
  const threshold = condition[bound]!;
  return { bound, threshold, text: `${BOUND_TEXT[bound]} ${formatNumber(threshold)}` };
}

/** Whether a value satisfies the condition's bound. */
export function meets(value: number, condition: Condition): boolean {
  const { bound, threshold } = thresholdOf(condition);
  switch (bound) {
    case 'below':
      return value < threshold;
    case 'atMost':
      return value <= threshold;
    case 'above':
      return value > threshold;
    case 'atLeast':
      return value >= threshold;
  }
}

/** Short, exact enough for a one-line message: 7.2, 0.0123, 1234.5, 1.2e-7. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e15)) return value.toExponential(2);
  return String(Number(value.toPrecision(abs >= 1000 ? 6 : 4)));
}
