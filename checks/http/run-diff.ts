import { redactText, type SecretNames } from '../../lib/redact';
import type { Assertion, CheckReport, Outcome } from '../types';
import { worstOutcome } from '../verdict';
import { CookieJar } from './cookie-jar';
import { diffResponses, type pathIgnorer } from './diff';
import { runFlow } from './flow';
import type { FlowOptions } from './flow-types';
import { formatMs } from './format-ms';
import type { HttpCheckOptions } from './options';
import { clip } from './parsed-body';
import { detailsOf, requestDetails } from './report-details';
import { RetryTally } from './retry';
import { withinRetryBudget } from './within-retry-budget';

const MAX_DIFFERENCES = 20; // per request; the rest are counted

/**
 * The `diff` mode: the same requests to blue (the baseline) and green at once, each answer pair
 * compared; green fails where it answers differently, and blue failing to answer is an error.
 */
export async function runDiff(
  options: HttpCheckOptions,
  common: FlowOptions,
  ignore: ReturnType<typeof pathIgnorer>,
  secretHeaders: SecretNames,
): Promise<CheckReport> {
  const diff = options.diff!;
  const greenOptions: FlowOptions = { ...common, overrideTarget: diff.candidate, jar: new CookieJar() };
  if (options.readiness) greenOptions.readiness = options.readiness;
  const [blue, green] = await Promise.all([
    runFlow(options.requests, { ...common, overrideTarget: diff.baseline, jar: new CookieJar() }),
    runFlow(options.requests, greenOptions),
  ]);
  const assertions: Assertion[] = [...green.assertions];
  const diffOptions = {
    status: diff.status,
    headers: diff.headers.map((h) => h.toLowerCase()),
    body: diff.body,
    ignore,
    secretHeaders,
    maxDifferences: MAX_DIFFERENCES,
  };
  let compared = 0;
  const differing: string[] = [];
  for (const greenStep of green.steps) {
    const blueStep = blue.steps[greenStep.index];
    if (!greenStep.response || !blueStep?.response) continue;
    compared++;
    const found = diffResponses(greenStep.label, blueStep.response, greenStep.response, diffOptions);
    assertions.push(...found);
    for (const f of found)
      if (!f.ok)
        differing.push(
          `${f.what.slice(greenStep.label.length + 6) || 'more'} (blue ${show(f.expected)}, green ${show(f.actual)})`,
        );
  }

  let outcome: Outcome;
  let message: string;
  const scope = `${diff.baseline} (blue) vs ${diff.candidate} (green)`;
  if (blue.outcome === 'error' && compared === 0) {
    outcome = 'error';
    message = `cannot diff ${scope}: blue did not answer: ${blue.message}`;
  } else if (differing.length) {
    outcome = 'failed';
    const more = differing.length > 3 ? ` (+${differing.length - 3} more)` : '';
    message = `${scope} differ in ${differing.slice(0, 3).join('; ')}${more}`;
  } else if (green.outcome !== 'passed') {
    outcome = green.outcome;
    message = green.message;
  } else {
    outcome = worstOutcome([green.outcome, compared ? 'passed' : 'inconclusive']);
    message = compared
      ? `${scope}: ${compared} request${compared === 1 ? '' : 's'} answered the same (${formatMs(green.durationMs)})`
      : `${scope}: nothing to compare`;
  }
  if (green.outcome !== 'passed' && outcome === 'failed' && differing.length)
    message += `; green also: ${green.message}`;
  if (blue.insecure || green.insecure) message += ' (certificate verification off)';
  // Green's retries are judged; blue is production, and its flakiness is not green's to answer for.
  const tally = new RetryTally();
  tally.add(green.steps);
  return withinRetryBudget(
    {
      outcome: worstOutcome([outcome, green.outcome === 'passed' ? 'passed' : green.outcome]),
      message: redactText(message),
      assertions,
      details: {
        ...detailsOf(green, {}),
        baseline: { outcome: blue.outcome, message: blue.message, requests: requestDetails(blue) },
      },
    },
    tally,
    options.retryBudget,
  );
}

function show(value: unknown): string {
  return clip(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)), 60);
}
