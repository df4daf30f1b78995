/**
 * The stages of Amazon ECS's built-in blue/green deployments (deployment controller `ECS`) at
 * which a Lambda hook may run. greenlight.yml lists checks under these names beside the
 * CodeDeploy events, so the same checks serve both kinds of deployment.
 */
export const ECS_LIFECYCLE_STAGES = [
  'RECONCILE_SERVICE',
  'PRE_SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRE_PRODUCTION_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
] as const;

export type EcsLifecycleStage = (typeof ECS_LIFECYCLE_STAGES)[number];

/** Stages that ECS runs again, in reverse, while it rolls a deployment back. */
export const ECS_TRAFFIC_SHIFT_STAGES: readonly EcsLifecycleStage[] = [
  'TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
];

export function isEcsLifecycleStage(value: unknown): value is EcsLifecycleStage {
  return typeof value === 'string' && (ECS_LIFECYCLE_STAGES as readonly string[]).includes(value);
}
