// Whether a lifecycle event's checks need a gate, apart from the gate itself: the hooks ask on
// every invocation, and only a gated event loads the gate (and its schemas and clients).
import type { PlannedCheck } from '../../checks/runner';

/** True when a lifecycle event's checks need a gate: a bake window or an approval. */
export function needsGate(planned: readonly PlannedCheck[]): boolean {
  return planned.some((p) => p.window !== undefined || p.check.type === 'approval');
}
