import {
  DiscoveryError,
  defaultDiscoveryClients,
  readDeploymentGroup,
  replacementTaskSet,
  type DiscoveryClients,
} from '../checks/discovery/deployment';
import { diagnoseGreenTasks } from '../checks/diagnosis/green-evidence';
import { errorMessage } from '../lib/errors';

/** The diagnosis never takes longer than this, whatever budget is left. */
export const MAX_GREEN_DIAGNOSIS_MS = 5_000;
/** With less than this left before the deadline, the verdict goes out without a diagnosis. */
const MIN_GREEN_DIAGNOSIS_MS = 500;

/**
 * One sentence on why green may not answer, for a failed verdict's reason: the replacement task
 * set's stopped tasks and its target group's health, named as a known cause. It runs within
 * `deadline` (and at most MAX_GREEN_DIAGNOSIS_MS), and never throws: without the permissions it
 * says which would give it.
 */
export async function greenDiagnosis(
  deploymentId: string,
  deadline: number,
  clients: DiscoveryClients = defaultDiscoveryClients(),
): Promise<string> {
  const budgetMs = Math.min(MAX_GREEN_DIAGNOSIS_MS, deadline - Date.now());
  if (budgetMs < MIN_GREEN_DIAGNOSIS_MS)
    return `diagnosis of green's tasks not available: no time left in the hook's budget`;
  const signal = AbortSignal.timeout(budgetMs);
  try {
    const route = await readDeploymentGroup(deploymentId, clients, signal);
    const { cluster, service } = route.facts;
    const { taskSet } = await replacementTaskSet(clients, cluster, service, deploymentId, signal);
    if (!taskSet?.id)
      return `diagnosis of green's tasks not available: no task set of ${deploymentId} in ${service}`;
    const targetGroupArns = (taskSet.loadBalancers ?? [])
      .map((lb) => lb.targetGroupArn)
      .filter((arn): arn is string => !!arn);
    const found = await diagnoseGreenTasks(
      {
        cluster,
        taskSetId: taskSet.id,
        ...(taskSet.taskDefinition ? { taskDefinition: taskSet.taskDefinition } : {}),
        targetGroupArns,
      },
      clients,
      signal,
    );
    return found.line;
  } catch (err) {
    if (err instanceof DiscoveryError && err.denial)
      return `diagnosis of green's tasks not available: ${err.denial}`;
    return `diagnosis of green's tasks not available: ${errorMessage(err)}`;
  }
}
