import { randomBytes } from 'node:crypto';
import { buildConfig } from '../../../config/config';
import { silentLogger } from '../../../lib/log';
import { sessionCheckType } from '../../../checks/session';
import type { Check, CheckReport } from '../../../checks/types';

/** A unique key prefix for one test, so tests sharing the machine's Redis never see each other's keys. */
export function uniquePrefix(area = 'session'): string {
  return `${area}-${randomBytes(4).toString('hex')}:`;
}

/** Builds a `session` check from options exactly as greenlight.yml would (validation included). */
export function buildSessionCheck(options: Record<string, unknown>, name = 'sessions'): Check {
  const loaded = buildConfig(
    {
      targets: { test: 'http://127.0.0.1:1', prod: 'http://127.0.0.1:2' },
      checks: { [name]: { type: 'session', ...options } },
      hooks: { AfterAllowTestTraffic: [name] },
    },
    { checkTypes: [sessionCheckType] },
  );
  return loaded.plan('AfterAllowTestTraffic')[0]!.check;
}

export interface RunOptions {
  deploymentId?: string;
  targets?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Runs a built check with a real deadline and signal, as the runner would. */
export async function runCheck(check: Check, run: RunOptions = {}): Promise<CheckReport> {
  const timeoutMs = run.timeoutMs ?? 10_000;
  const signal = run.signal ?? AbortSignal.timeout(timeoutMs);
  const targets = Object.fromEntries(
    Object.entries(run.targets ?? { test: 'http://127.0.0.1:1' }).map(([k, v]) => [k, new URL(v)]),
  );
  return check.run({
    signal,
    deadline: Date.now() + timeoutMs,
    targets,
    deployment: { deploymentId: run.deploymentId ?? 'd-TEST00001', lifecycleEvent: 'AfterAllowTestTraffic' },
    log: silentLogger,
  });
}

/** Runs a session check straight from options. */
export async function runSessionCheck(
  options: Record<string, unknown>,
  run: RunOptions = {},
): Promise<CheckReport> {
  return runCheck(buildSessionCheck(options), run);
}
