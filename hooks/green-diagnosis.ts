import {
  DiscoveryError,
  defaultDiscoveryClients,
  readDeploymentGroup,
  replacementTaskSet,
  type DiscoveryClients,
} from '../checks/discovery/deployment';
import { diagnoseGreenWithin } from './diagnose-green-within';

export { MAX_GREEN_DIAGNOSIS_MS } from './diagnose-green-within';

/**
 * One sentence on why green may not answer in a CodeDeploy deployment: the replacement task set's
 * stopped tasks and its target group's health, named as a known cause (see diagnoseGreenWithin:
 * bounded by `deadline`, never throws, names a denied permission).
 */
export async function greenDiagnosis(
  deploymentId: string,
  deadline: number,
  clients: DiscoveryClients = defaultDiscoveryClients(),
): Promise<string> {
  return diagnoseGreenWithin(
    async (signal) => {
      try {
        const route = await readDeploymentGroup(deploymentId, clients, signal);
        const { cluster, service } = route.facts;
        const { taskSet } = await replacementTaskSet(clients, cluster, service, deploymentId, signal);
        if (!taskSet?.id) return { unavailable: `no task set of ${deploymentId} in ${service}` };
        return {
          cluster,
          taskSetId: taskSet.id,
          ...(taskSet.taskDefinition ? { taskDefinition: taskSet.taskDefinition } : {}),
          targetGroupArns: (taskSet.loadBalancers ?? [])
            .map((lb) => lb.targetGroupArn)
            .filter((arn): arn is string => !!arn),
        };
      } catch (err) {
        if (err instanceof DiscoveryError && err.denial) return { unavailable: err.denial };
        throw err;
      }
    },
    deadline,
    clients,
  );
}
