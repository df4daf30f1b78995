import { errorMessage } from '../../lib/errors';
import type { PreflightContext, PreflightLine } from '../check-type';
import { loadContract, type ContractSource } from './contract-source';

interface SchemaPreflightOptions {
  contracts?: { green: ContractSource; blue?: ContractSource | undefined } | undefined;
  contractTimeoutMs: number;
  contractMaxBytes: number;
}

/**
 * One line per configured contract: it loads through the check's own loader (same timeout, size
 * limit and validation), is optional and absent, or why not.
 */
export function schemaPreflight(
  options: SchemaPreflightOptions,
  ctx: PreflightContext,
): Promise<PreflightLine[]> {
  const versions = (['green', 'blue'] as const).flatMap((version) => {
    const source = options.contracts?.[version];
    return source ? [loadVersion(version, source, options, ctx)] : [];
  });
  return Promise.all(versions);
}

async function loadVersion(
  version: 'green' | 'blue',
  source: ContractSource,
  options: SchemaPreflightOptions,
  ctx: PreflightContext,
): Promise<PreflightLine> {
  const subject = `contract ${version} of schema check ${ctx.name}`;
  try {
    const loaded = await loadContract(source, {
      targets: ctx.targets,
      signal: ctx.step().signal,
      timeoutMs: options.contractTimeoutMs,
      maxBytes: options.contractMaxBytes,
    });
    return {
      status: 'ok',
      text: `${subject} loaded from ${loaded.from === 'inline' ? 'the config' : loaded.from}`,
    };
  } catch (err) {
    if (source.optional && (err as { statusCode?: number }).statusCode === 404) {
      return {
        status: 'skip',
        text: `${subject}: ${errorMessage(err)}; the source is optional, so ${version} is not checked`,
      };
    }
    // The loader's messages already name the file or the URL, and for a fetch the status and time.
    return { status: 'fail', text: `${subject}: ${errorMessage(err)}` };
  }
}
