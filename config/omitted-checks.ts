import { formatPath } from '../lib/config-issues';
import { ConfigError } from '../lib/errors';

// A hook bundle carries the check types of its own lifecycle events only (deploy/esbuild-plugins.js
// writes the others into checks/registry.ts's `omittedCheckTypes`). The packaged greenlight.yml
// still defines the checks of the other events: those are set aside when the config loads, and
// only planning one of them for this hook's event is an error.

/** The checks of a document whose type this bundle left out, by name. */
export function omittedChecks(document: unknown, omittedTypes: readonly string[]): Map<string, string> {
  const omitted = new Map<string, string>();
  if (omittedTypes.length === 0 || !document || typeof document !== 'object') return omitted;
  const checks = (document as { checks?: unknown }).checks;
  if (!checks || typeof checks !== 'object' || Array.isArray(checks)) return omitted;
  for (const [name, entry] of Object.entries(checks)) {
    const type = entry && typeof entry === 'object' ? (entry as { type?: unknown }).type : undefined;
    if (typeof type === 'string' && omittedTypes.includes(type)) omitted.set(name, type);
  }
  return omitted;
}

/** The document without the omitted checks, for validation against the types this bundle has. */
export function withoutChecks(document: unknown, omitted: ReadonlyMap<string, string>): unknown {
  if (omitted.size === 0) return document;
  const doc = document as { checks: Record<string, unknown> };
  const checks = Object.fromEntries(Object.entries(doc.checks).filter(([name]) => !omitted.has(name)));
  return { ...doc, checks };
}

/**
 * Planning a check whose type is not in this bundle: the config is not the one it was packaged
 * with, or (`reason`) no bundle of this stack carries the type.
 */
export function omittedCheckError(
  source: string,
  name: string,
  type: string,
  event: string,
  reason?: string,
): ConfigError {
  if (reason)
    return new ConfigError(
      `${source}: ${formatPath(['checks', name, 'type'])}: check type "${type}" is not in this bundle: ${reason}`,
    );
  return new ConfigError(
    `${source}: ${formatPath(['checks', name, 'type'])}: check type "${type}" is not in this bundle, ` +
      `which was packaged for a greenlight.yml that does not use it at ${event}; package the hooks again with this config`,
  );
}
