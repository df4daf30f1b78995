import { buildConfig } from '../../config/config';
import type { CheckType } from '../../checks/check-type';
import type { Check, CheckContext } from '../../checks/types';
import { silentLogger } from '../../lib/log';

/** Builds one check through the real config path (schema, defaults, factory checks). */
export function checkFrom(type: CheckType, options: Record<string, unknown>, name = 'cw'): Check {
  const loaded = buildConfig(
    {
      targets: { test: 'http://127.0.0.1:1' },
      checks: { [name]: { type: type.type, ...options } },
      hooks: { AfterAllowTestTraffic: [name] },
    },
    { checkTypes: [type] },
  );
  return loaded.plan('AfterAllowTestTraffic')[0]!.check;
}

/** The config error a set of options produces, or undefined when they are valid. */
export function configErrorOf(type: CheckType, options: Record<string, unknown>): string | undefined {
  try {
    checkFrom(type, options);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export function contextFor(overrides: Partial<CheckContext> & { deploymentId?: string } = {}): CheckContext {
  const { deploymentId, ...rest } = overrides;
  return {
    signal: new AbortController().signal,
    deadline: Date.now() + 15_000,
    targets: { test: new URL('http://127.0.0.1:1') },
    deployment: { lifecycleEvent: 'AfterAllowTestTraffic', ...(deploymentId ? { deploymentId } : {}) },
    log: silentLogger,
    ...rest,
  };
}

/** CloudWatch's JSON protocol carries timestamps as epoch seconds. */
export function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}
