import type { CheckReport } from '../types';
import { foldParts, type Part } from '../verdict';

export type { Part };

export function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

export function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate < 0.1 && rate > 0 ? 1 : 0)}%`;
}

/** The check's report: worst part wins; the message leads with the parts that did not pass. */
export function report(label: string, parts: Part[]): CheckReport {
  return foldParts(label, parts);
}
