import { errorMessage } from '../../lib/errors';
import { silentLogger } from '../../lib/log';
import type { PreflightContext, PreflightLine } from '../check-type';
import { describeSource, loadSessionContract, type ContractSource } from './contract';

/** One line per configured contract: it loads through the check's own loader and target fetch, or why not. */
export function sessionPreflight(
  options: { contracts?: { blue: ContractSource; green: ContractSource } | undefined },
  ctx: PreflightContext,
): Promise<PreflightLine[]> {
  const { contracts } = options;
  if (!contracts) return Promise.resolve([]);
  return Promise.all(
    (['green', 'blue'] as const).map((version) => loadVersion(version, contracts[version], ctx)),
  );
}

async function loadVersion(
  version: 'green' | 'blue',
  source: ContractSource,
  ctx: PreflightContext,
): Promise<PreflightLine> {
  const subject = `contract ${version} of session check ${ctx.name}`;
  const from = describeSource(source, ctx.targets);
  const fetchCtx = {
    ...ctx.step(),
    targets: ctx.targets,
    log: silentLogger,
    deployment: { lifecycleEvent: 'validate' },
  };
  try {
    await loadSessionContract(source, from, async (served) => {
      const { fetchJsonFromTarget } = await import('./end-to-end');
      return fetchJsonFromTarget(served, fetchCtx);
    });
    return { status: 'ok', text: `${subject} loaded from ${'inline' in source ? 'the config' : from}` };
  } catch (err) {
    const why = errorMessage(err);
    return { status: 'fail', text: `${subject}: ${why.includes(from) ? '' : `${from}: `}${why}` };
  }
}
