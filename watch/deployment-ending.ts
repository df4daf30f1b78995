import { newRevision, type Ending, type Evidence } from '../checks/diagnosis/evidence';

const FINAL_CODEDEPLOY: Record<string, Exclude<Ending, 'stalled'> | undefined> = {
  Succeeded: 'completed',
  Failed: 'failed',
  Stopped: 'failed',
};
const FINAL_SERVICE_DEPLOYMENT: Record<string, Exclude<Ending, 'stalled'> | undefined> = {
  SUCCESSFUL: 'completed',
  ROLLBACK_SUCCESSFUL: 'rolled-back',
  ROLLBACK_FAILED: 'failed',
  STOPPED: 'failed',
};

/**
 * Where the deployment stands, from the most authoritative source there is: CodeDeploy's status,
 * else ECS's service deployment, else the rollout state of the ECS deployment being followed.
 * Undefined while it is in progress (a rollback in progress is still in progress).
 */
export function endingOf(e: Evidence): Exclude<Ending, 'stalled'> | undefined {
  if (e.codeDeploy) {
    const end = FINAL_CODEDEPLOY[e.codeDeploy.status];
    return end === 'failed' && e.codeDeploy.rolledBack ? 'rolled-back' : end;
  }
  if (e.serviceDeployment) return FINAL_SERVICE_DEPLOYMENT[e.serviceDeployment.status];
  const next = newRevision(e);
  if (!next) {
    // Our deployment is gone from the service: a newer one (a rollback, or another deploy) replaced it.
    return e.revisions.length && e.newRevisionId ? 'failed' : undefined;
  }
  if (next.rolloutState === 'COMPLETED') return 'completed';
  if (next.rolloutState === 'FAILED') {
    const replaced = e.revisions.some((r) => r.status === 'PRIMARY' && r.id !== next.id);
    return replaced || e.service?.circuitBreaker?.rollback ? 'rolled-back' : 'failed';
  }
  // Services behind a Classic Load Balancer have no rollout state: one revision, all running.
  if (
    next.rolloutState === undefined &&
    e.revisions.length === 1 &&
    next.running >= next.desired &&
    !next.pending
  )
    return 'completed';
  return undefined;
}
