import type { CheckReport } from '../types';
import { CookieJar } from './cookie-jar';
import { runFlow } from './flow';
import type { FlowOptions, FlowResult } from './flow-types';
import type { HttpCheckOptions } from './options';
import { detailsOf } from './report-details';
import { RetryTally, sleep } from './retry';
import { withinRetryBudget } from './within-retry-budget';

/** The requests `consecutiveSuccesses` times in a row (each run with fresh cookies), or until one run does not pass. */
export async function runRepeated(options: HttpCheckOptions, common: FlowOptions): Promise<CheckReport> {
  const runs = options.consecutiveSuccesses;
  const tally = new RetryTally();
  let flow: FlowResult | undefined;
  let run = 0;
  while (run < runs) {
    if (run > 0 && options.successIntervalMs > 0 && !(await sleep(options.successIntervalMs, common.signal)))
      break;
    run++;
    const flowOptions: FlowOptions = { ...common, jar: new CookieJar() };
    if (options.readiness && run === 1) flowOptions.readiness = options.readiness;
    flow = await runFlow(options.requests, flowOptions);
    tally.add(flow.steps);
    if (flow.outcome !== 'passed') break;
  }
  const last = flow!;
  let message = last.message;
  if (runs > 1)
    message =
      last.outcome === 'passed' && run === runs
        ? `${message}; ${runs} consecutive passes`
        : `run ${run} of ${runs} in a row: ${message}`;
  if (last.insecure) message += ' (certificate verification off)';
  return withinRetryBudget(
    { outcome: last.outcome, message, assertions: last.assertions, details: detailsOf(last, { runs: run }) },
    tally,
    options.retryBudget,
  );
}
