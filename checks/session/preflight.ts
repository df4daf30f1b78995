import { errorMessage } from '../../lib/errors';
import { silentLogger } from '../../lib/log';
import type { PreflightContext, PreflightLine } from '../check-type';
import { describeSource, loadSessionContract, type ContractSource } from './contract';
import type { CookiesOptions } from './cookie-options';
import { crossKeys, toSigningKeys } from './keys';

/** One line per configured contract: it loads through the check's own loader and target fetch, or why not. */
export async function sessionPreflight(
  options: {
    contracts?: { blue: ContractSource; green: ContractSource } | undefined;
    cookies?: CookiesOptions | undefined;
  },
  ctx: PreflightContext,
): Promise<PreflightLine[]> {
  const { contracts, cookies } = options;
  const lines = contracts
    ? await Promise.all(
        (['green', 'blue'] as const).map((version) => loadVersion(version, contracts[version], ctx)),
      )
    : [];
  if (cookies?.keys) lines.push(cookieKeysLine(cookies.keys, ctx.name));
  return lines;
}

/** Whether each version verifies what the other signs, from the configured keys alone (no request). */
function cookieKeysLine(keys: NonNullable<CookiesOptions['keys']>, name: string): PreflightLine {
  const blue = toSigningKeys(keys.blue);
  const green = toSigningKeys(keys.green);
  const forward = crossKeys(blue, green);
  const back = crossKeys(green, blue);
  const say = (reader: string, writer: string, c: ReturnType<typeof crossKeys>) =>
    c.ok
      ? `${reader} verifies ${writer}'s ${c.signing}`
      : `${reader} does not verify ${writer}'s ${c.signing}${c.relabelled ? ` (${c.relabelled})` : ''}`;
  return {
    status: forward.ok && back.ok ? 'ok' : 'fail',
    text: `cookie keys of session check ${name}: ${say('green', 'blue', forward)}; ${say('blue', 'green', back)}`,
  };
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
