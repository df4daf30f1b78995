// The break-glass switch of an ECS hook: a service deployment's stage passed without running checks.
import type { Logger } from '../lib/log';
import type { SkippedVerdict } from './break-glass';
import type { EcsHookInvocation } from './ecs-hook-event';

/**
 * The break-glass switch for this service deployment and stage (hooks/break-glass.ts), looked up
 * only when `GREENLIGHT_BREAK_GLASS_PREFIX` is set and the invocation names a service deployment;
 * a skip is counted as `VerdictSkipped`.
 */
export async function ecsBreakGlass(
  invocation: EcsHookInvocation,
  log: Logger,
  budgetMs: number,
): Promise<SkippedVerdict | undefined> {
  if (!process.env.GREENLIGHT_BREAK_GLASS_PREFIX) return undefined;
  const { ecsBreakGlassKey, emitSkippedMetric, findBreakGlass } = await import('./break-glass');
  const deployment = ecsBreakGlassKey(invocation.resourceArn);
  if (!deployment) return undefined;
  const skipped = await findBreakGlass({ deployment, hook: invocation.lifecycleStage, log, budgetMs });
  if (skipped) {
    const service = process.env.GREENLIGHT_SERVICE || process.env.POWERTOOLS_SERVICE_NAME || 'greenlight';
    emitSkippedMetric({ service, lifecycleEvent: invocation.lifecycleStage }, deployment);
  }
  return skipped;
}
