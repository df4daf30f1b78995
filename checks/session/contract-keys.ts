import type { SessionContract, Version } from './contract';
import type { CookiesOptions } from './cookie-options';
import { describeKey, toSigningKeys } from './keys';
import type { Part } from './part';

/**
 * When the contracts give key fingerprints and the check is given the keys themselves, both must
 * name the same keys in the same order: a contract whose fingerprints no longer match the keys the
 * version runs with is stale, and its comparison proves nothing.
 */
export function contractKeysPart(
  contracts: Record<Version, SessionContract>,
  keys: NonNullable<CookiesOptions['keys']>,
): Part | undefined {
  const assertions = [];
  const stale: string[] = [];
  for (const version of ['blue', 'green'] as const) {
    const listed = contracts[version].signingKeys;
    if (!listed) continue;
    const configured = toSigningKeys(keys[version]);
    const ok =
      listed.length === configured.length &&
      listed.every((k, i) => k.fingerprint === configured[i]!.fingerprint);
    const expected = configured.map(describeKey).join(', ');
    const actual = listed.map(describeKey).join(', ');
    assertions.push({
      what: `${version}'s contract signingKeys match cookies.keys.${version}`,
      expected,
      actual,
      ok,
    });
    if (!ok)
      stale.push(
        `${version}'s contract lists keys ${actual}, but ${version} is configured with ${expected}: the contract is stale`,
      );
  }
  if (assertions.length === 0) return undefined;
  return stale.length
    ? { outcome: 'error', summary: stale.join('; '), assertions }
    : { outcome: 'passed', summary: 'contract key fingerprints match the configured keys', assertions };
}
