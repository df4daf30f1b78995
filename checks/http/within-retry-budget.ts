import type { Assertion, CheckReport } from '../types';
import { worstOutcome } from '../verdict';
import { retryAllowance, type RetryBudget, type RetryTally } from './retry';

/**
 * Retries let a request through a flaky moment, and so would hide a green that fails every
 * other request. When more of the check's requests needed a retry than the budget allows, the
 * check fails, saying how many and what they saw; below it, the retries are still evidence.
 */
export function withinRetryBudget(report: CheckReport, tally: RetryTally, budget: RetryBudget): CheckReport {
  if (tally.retried === 0) return report;
  const allowed = retryAllowance(budget, tally.requests);
  const ok = tally.retried <= allowed;
  const seen = tally.describeSeen();
  const requests = `${tally.requests} request${tally.requests === 1 ? '' : 's'}`;
  const assertion: Assertion = {
    what: 'retry budget',
    expected: `at most ${allowed} of ${requests} retried (${budget.percent} %, at least ${budget.minRetried})`,
    actual: `${tally.retried} retried, after ${seen}`,
    ok,
  };
  const outcome = ok ? report.outcome : worstOutcome([report.outcome, 'failed']);
  let message = report.message;
  if (!ok) {
    const reason =
      `${tally.retried} of ${requests} needed a retry (after ${seen}), more than the retry budget's ` +
      `${allowed} (${budget.percent} %, at least ${budget.minRetried}): green fails intermittently; ` +
      'fix it, or raise retryBudget.percent if that is expected';
    message = report.outcome === 'passed' ? reason : `${report.message}; also ${reason}`;
  }
  return {
    outcome,
    message,
    assertions: [...(report.assertions ?? []), assertion],
    details: {
      ...report.details,
      retries: {
        requests: tally.requests,
        retried: tally.retried,
        allowed,
        seen: Object.fromEntries(tally.seen),
      },
    },
  };
}
