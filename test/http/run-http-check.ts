import { httpCheckType } from '../../checks/http';
import type { Check, CheckReport } from '../../checks/types';
import { buildConfig } from '../../config/config';
import { silentLogger, type Logger } from '../../lib/log';

/** Builds an `http` check through the real config validation, as greenlight.yml would. */
export function httpCheck(options: Record<string, unknown>, targets: Record<string, string>): Check {
  const loaded = buildConfig(
    { targets, checks: { smoke: { type: 'http', ...options } }, hooks: { AfterAllowTestTraffic: ['smoke'] } },
    { checkTypes: [httpCheckType] },
  );
  return loaded.plan('AfterAllowTestTraffic')[0]!.check;
}

/** The config error message for these options (throws if they are valid). */
export function configError(
  options: Record<string, unknown>,
  targets: Record<string, string> = { test: 'http://127.0.0.1:1' },
): string {
  try {
    httpCheck(options, targets);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a config error');
}

export interface RunOptions {
  budgetMs?: number;
  signal?: AbortSignal;
  log?: Logger;
}

/** Runs a check the way the runner does: a deadline, a signal, the targets. */
export async function runCheck(
  check: Check,
  targets: Record<string, string>,
  options: RunOptions = {},
): Promise<CheckReport & { elapsedMs: number }> {
  const budgetMs = options.budgetMs ?? 10_000;
  const started = performance.now();
  const report = await check.run({
    signal: options.signal ?? AbortSignal.timeout(budgetMs),
    deadline: Date.now() + budgetMs,
    targets: Object.fromEntries(Object.entries(targets).map(([k, v]) => [k, new URL(v)])),
    deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
    log: options.log ?? silentLogger,
  });
  return { ...report, elapsedMs: performance.now() - started };
}

/** Builds and runs in one go. */
export async function check(
  options: Record<string, unknown>,
  targets: Record<string, string>,
  run: RunOptions = {},
) {
  return runCheck(httpCheck(options, targets), targets, run);
}
