import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** One measured figure, next to the baseline it was compared with in the same run. */
export interface BenchFigure {
  /** e.g. `runner overhead per check`. */
  name: string;
  value: number;
  unit: string;
  /** What it is compared with, measured in the same process. */
  baseline?: { name: string; value: number; unit: string };
  /** The target as text, e.g. `≤ 0.1 ms`, `≥ 0.8× baseline`. */
  target: string;
  ok: boolean;
  note?: string;
}

export interface Bench {
  /** Short id used on the command line: `npm run bench -- runner`. */
  id: string;
  title: string;
  run(): Promise<BenchFigure[]>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The repository's root, whether this runs compiled (dist/bench) or from source (bench/). Marked by
 * serverless.yml: the build copies package.json into dist/ (checks/http-client.ts imports it).
 */
export const REPO_ROOT = existsSync(join(__dirname, '..', 'serverless.yml'))
  ? join(__dirname, '..')
  : join(__dirname, '..', '..');

/** The repository's serverless.yml, parsed: what `serverless package` deploys. */
export function serverlessYml(): Record<string, unknown> {
  return parseYaml(readFileSync(join(REPO_ROOT, 'serverless.yml'), 'utf8')) as Record<string, unknown>;
}
