// Loads one version's contract for the schema check, or says why that version is not checked.
import { ConfigError, errorMessage } from '../../lib/errors';
import type { CheckContext } from '../types';
import {
  ContractUnavailableError,
  loadContract,
  type ContractSource,
  type LoadedContract,
} from './contract-source';
import type { Version } from './finding';
import type { SchemaOptions } from './schema-options';

/** One version's contract as loaded, or why it is skipped. */
export interface VersionLoad {
  version: Version;
  loaded?: LoadedContract;
  /** Why this version is not checked (no contract configured, or an optional one absent). */
  skipped?: string;
}

export async function loadVersion(
  version: Version,
  source: ContractSource | undefined,
  options: SchemaOptions,
  ctx: CheckContext,
): Promise<VersionLoad> {
  if (!source) return { version, skipped: `${version} not checked: no contract configured for ${version}` };
  try {
    const loaded = await loadContract(source, {
      targets: ctx.targets,
      signal: ctx.signal,
      deadline: ctx.deadline,
      timeoutMs: options.contractTimeoutMs,
      maxBytes: options.contractMaxBytes,
      log: ctx.log,
    });
    return { version, loaded };
  } catch (err) {
    if (source.optional && (err as { statusCode?: number }).statusCode === 404) {
      return { version, skipped: `${version} not checked: ${errorMessage(err)}` };
    }
    if (err instanceof ConfigError) throw new ConfigError(`${version}'s ${err.message}`, { cause: err });
    throw new ContractUnavailableError(`${version}'s contract: ${errorMessage(err)}`, { cause: err });
  }
}
