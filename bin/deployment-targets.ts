import type { CheckReport } from '../checks/types';
import { autoTargetNames } from '../lib/auto-target';
import { UsageError } from './usage-error';

/** Discovery gets this long, retries included, as a hook's deadline would allow. */
const DISCOVERY_TIMEOUT_MS = 30_000;

/** `--deployment-id`: a CodeDeploy deployment id such as d-ABCDEF123 (no spaces, not empty). */
export function parseDeploymentId(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const id = value.trim();
  if (!id || /\s/.test(id))
    throw new UsageError(
      `--deployment-id: expected a CodeDeploy deployment id such as d-ABCDEF123, got "${value}"`,
    );
  return id;
}

/**
 * `auto` targets are found from a CodeDeploy deployment, as the hooks find them; without
 * `--deployment-id` there is nothing to find them from, which is a usage error saying so.
 */
export function requireDeploymentForAuto(
  targets: Readonly<Record<string, URL>>,
  deploymentId: string | undefined,
  alternative = '',
): void {
  const auto = autoTargetNames(targets);
  if (auto.length === 0 || deploymentId) return;
  const names = auto.map((name) => `targets.${name}`).join(', ');
  throw new UsageError(
    `${names} ${auto.length === 1 ? 'is' : 'are'} "auto", found from a CodeDeploy deployment: pass --deployment-id d-XXXXXXXXX${alternative}`,
  );
}

export interface DeploymentTargets {
  targets: Record<string, URL>;
  /** Undefined when no target was `auto`. */
  discovery?: CheckReport;
}

/**
 * Replaces `auto` targets with the listeners of the deployment, through the hooks' own discovery
 * (checks/discovery/listeners.ts) and the caller's AWS credentials. `lifecycleEvent` decides, as in a hook,
 * whether the test listener must already forward to the replacement task set.
 */
export async function discoverDeploymentTargets(
  targets: Readonly<Record<string, URL>>,
  deploymentId: string | undefined,
  lifecycleEvent: string,
): Promise<DeploymentTargets> {
  if (!deploymentId || autoTargetNames(targets).length === 0) return { targets: { ...targets } };
  const { resolveAutoTargets } = await import('../checks/discovery/listeners');
  const resolved = await resolveAutoTargets(targets, { deploymentId, lifecycleEvent }, undefined, {
    signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
  });
  const out: DeploymentTargets = { targets: resolved.targets };
  if (resolved.discovery) out.discovery = resolved.discovery.report;
  return out;
}
