import type { RequestStep } from '../http/step';
import type { CheckContext } from '../types';
import type { Version } from './contract';
import { cookieNameOf, type CookiesOptions, type SampledCookies } from './cookie-options';
import type { CookieFramework } from './frameworks/framework';

/**
 * Runs the sample requests against each version's target, as a browser would, and keeps the
 * session cookies each one set. Values stay in memory: the flow code registers them as secrets.
 */
export async function sampleCookies(
  options: CookiesOptions,
  framework: CookieFramework,
  ctx: CheckContext,
): Promise<Record<Version, SampledCookies>> {
  const sample = options.sample;
  if (!sample) throw new Error('no cookie sample configured');
  const [{ CookieJar }, { runFlow }] = await Promise.all([
    import('../http/cookie-jar'),
    import('../http/flow'),
  ]);
  const { requests, blueTarget, greenTarget, ...client } = sample;
  const name = cookieNameOf(options);
  const one = async (version: Version): Promise<SampledCookies> => {
    const target = version === 'blue' ? blueTarget : greenTarget;
    const jar = new CookieJar();
    const flow = await runFlow(requests as RequestStep[], {
      targets: ctx.targets,
      signal: ctx.signal,
      deadline: ctx.deadline,
      log: ctx.log,
      client,
      overrideTarget: target,
      jar,
    });
    if (flow.outcome !== 'passed') {
      return { ok: false, outcome: 'error', reason: `could not sample it on ${target}: ${flow.message}` };
    }
    const url = new URL(flow.steps[flow.steps.length - 1]!.url);
    if (jar.get(name, url) === undefined) {
      const others = jar.list().map((c) => c.name);
      return {
        ok: false,
        outcome: 'inconclusive',
        reason: `${flow.steps.map((s) => s.url).join(', ')} set no ${name} cookie${others.length ? ` (set: ${others.join(', ')})` : ''}; set cookies.sample.requests to requests that start a session`,
      };
    }
    const names = new Set(framework.cookieNames(name));
    return {
      ok: true,
      where: `${target} ${url.pathname}`,
      cookie: (n) => (names.has(n) ? jar.get(n, url) : undefined),
    };
  };
  const [blue, green] = await Promise.all([one('blue'), one('green')]);
  return { blue, green };
}
