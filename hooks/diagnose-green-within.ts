import {
  diagnoseGreenTasks,
  UnreadEvidence,
  type GreenEvidenceClients,
  type GreenTasks,
} from '../checks/diagnosis/green-evidence';
import { errorMessage } from '../lib/errors';

/** The diagnosis never takes longer than this, whatever budget is left. */
export const MAX_GREEN_DIAGNOSIS_MS = 5_000;
/** With less than this left before the deadline, the verdict goes out without a diagnosis. */
const MIN_GREEN_DIAGNOSIS_MS = 500;
const UNAVAILABLE = "diagnosis of green's tasks not available";

/**
 * Finds where green's tasks are, for one kind of deployment (a CodeDeploy replacement task set,
 * an ECS service revision). Returns a sentence instead when they cannot be found; may throw.
 */
export type GreenLocator = (signal: AbortSignal) => Promise<GreenTasks | { unavailable: string }>;

/**
 * One sentence on why green may not answer, for a failed verdict's reason: `locate` finds green's
 * tasks, then their stopped tasks and target health are named as a known cause. It runs within
 * `deadline` (and at most MAX_GREEN_DIAGNOSIS_MS), and never throws: a denied read names the
 * permission that would give the diagnosis.
 */
export async function diagnoseGreenWithin(
  locate: GreenLocator,
  deadline: number,
  clients: GreenEvidenceClients,
): Promise<string> {
  const budgetMs = Math.min(MAX_GREEN_DIAGNOSIS_MS, deadline - Date.now());
  if (budgetMs < MIN_GREEN_DIAGNOSIS_MS) return `${UNAVAILABLE}: no time left in the hook's budget`;
  const signal = AbortSignal.timeout(budgetMs);
  try {
    const where = await locate(signal);
    if ('unavailable' in where) return `${UNAVAILABLE}: ${where.unavailable}`;
    return (await diagnoseGreenTasks(where, clients, signal)).line;
  } catch (err) {
    if (err instanceof UnreadEvidence && err.denied) return `${UNAVAILABLE}: the role needs ${err.action}`;
    return `${UNAVAILABLE}: ${errorMessage(err)}`;
  }
}
