/** `targets.test: auto`: the hook finds the listener from the deployment (checks/discovery/listeners.ts). */
export const AUTO_TARGET = 'auto';
/**
 * What `auto` stands for until a hook replaces it with the discovered URL. The `.invalid` name
 * never resolves (RFC 2606), so a check that runs without discovery errors instead of testing
 * the wrong thing.
 */
export const AUTO_TARGET_URL = 'http://auto.greenlight.invalid/';

export function isAutoTarget(url: URL | string): boolean {
  return new URL(url).hostname === new URL(AUTO_TARGET_URL).hostname;
}

/** Names of targets that are `auto` (to be discovered). */
export function autoTargetNames(targets: Readonly<Record<string, URL>>): string[] {
  return Object.entries(targets)
    .filter(([, url]) => isAutoTarget(url))
    .map(([name]) => name);
}
