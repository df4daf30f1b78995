/** The causes `greenlight watch` and a hook's failed verdict can name, in the order it tries them (the first that fits wins). */
export const CAUSE_IDS = [
  'hook-timed-out',
  'hook-failed',
  'alarm',
  'image-pull',
  'secret-not-found',
  'oom-kill',
  'essential-container-exited',
  'health-check-path',
  'health-check-timeout',
  'no-route',
  'listener-old-target-group',
  'min-healthy-blocking-drain',
  'circuit-breaker',
  'unknown',
] as const;

export type CauseId = (typeof CAUSE_IDS)[number];

export interface KnownCause {
  title: string;
  /** What to change; the README's table says the same. */
  fix: string;
}

/**
 * The table of known causes: a title for the diagnosis line and the fix. The README documents the
 * same table with the evidence each cause is recognised by.
 */
export const KNOWN_CAUSES: Record<CauseId, KnownCause> = {
  'hook-timed-out': {
    title: 'lifecycle hook timed out',
    fix: 'the hook never reported: check that it ran (its logs), that it may call PutLifecycleEventHookExecutionStatus, and that it reaches the AWS endpoints from its subnets',
  },
  'hook-failed': {
    title: 'lifecycle hook failed',
    fix: 'read the hook’s reason; fix what its checks found in the new revision, or the check',
  },
  alarm: {
    title: 'alarm in ALARM',
    fix: 'find why the alarm fired with the new revision (its metric), or fix an alarm that was already firing before the deployment',
  },
  'image-pull': {
    title: 'image pull failure',
    fix: 'check the image name and tag, the task execution role’s ECR permissions, and a route to ECR (NAT or the ecr.api, ecr.dkr and s3 endpoints)',
  },
  'secret-not-found': {
    title: 'secret or parameter not found',
    fix: 'check the secret / parameter ARNs in the task definition, the task execution role’s secretsmanager:GetSecretValue / ssm:GetParameters (and kms:Decrypt), and a route to those endpoints',
  },
  'oom-kill': {
    title: 'container killed for memory (OOM)',
    fix: 'raise the container’s or task’s memory, or lower what the application uses (heap size)',
  },
  'essential-container-exited': {
    title: 'essential container exited',
    fix: 'read the container’s logs for why it exits at start (configuration, missing environment, a failing dependency)',
  },
  'health-check-path': {
    title: 'health check path answers an unexpected status',
    fix: 'point the target group’s health check path at a route the new revision answers with 200, or widen the matcher',
  },
  'health-check-timeout': {
    title: 'health check timed out',
    fix: 'give the service a healthCheckGracePeriodSeconds longer than the application’s start, or raise the health check timeout',
  },
  'no-route': {
    title: 'no route from the load balancer to the tasks',
    fix: 'allow the load balancer’s security group in the tasks’ security group on the container port, and check the subnets’ network ACLs',
  },
  'listener-old-target-group': {
    title: 'listener forwards to the old target group',
    fix: 'make the listener (or its rule) forward to the new revision’s target group; do not manage that listener outside the deployment',
  },
  'min-healthy-blocking-drain': {
    title: 'minimum healthy percent blocks the old tasks from draining',
    fix: 'lower minimumHealthyPercent or raise maximumPercent, or add capacity, so new tasks can start before old ones stop',
  },
  'circuit-breaker': {
    title: 'deployment circuit breaker tripped',
    fix: 'tasks of the new revision kept failing to start or to pass health checks: read the stopped tasks’ reasons',
  },
  unknown: {
    title: 'no known cause matched',
    fix: 'read the timeline above: the service events and stopped tasks',
  },
};
