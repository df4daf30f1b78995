import { setMaxListeners } from 'node:events';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { withinDeadline } from '../lib/within-deadline';
import { toCodeDeployStatus, worstOutcome, decidesFailure, type CodeDeployStatus } from './verdict';
import type { WindowSpec } from './window';
import type { Check, CheckContext, CheckReport, CheckResult, DeploymentInfo, Outcome } from './types';
import { OUTCOMES } from './types';
import { outcomeAssertion } from './evidence';

/** A check as a hook runs it: the check itself plus how it counts. */
export interface PlannedCheck {
  check: Check;
  /** Reported, never gating. */
  advisory?: boolean;
  /** This check's own budget, inside the hook deadline. */
  timeoutMs?: number;
  /** Measure repeatedly over a bake window (hooks only; a single run measures once). */
  window?: WindowSpec;
}

export interface RunOptions {
  /** Epoch milliseconds: every check is stopped by then and the verdict returned. */
  deadline: number;
  targets: Readonly<Record<string, URL>>;
  deployment: DeploymentInfo;
  log: Logger;
  /** How many checks run at once. */
  concurrency?: number;
  /** Stop the other checks as soon as a gating check decides a Failed verdict. */
  failFast?: boolean;
  /** Stops the whole run from outside (e.g. Ctrl-C in the CLI). */
  signal?: AbortSignal;
  onStart?: (name: string) => void;
  onResult?: (result: CheckResult) => void;
}

/** The decision of one lifecycle event. */
export interface Verdict {
  status: CodeDeployStatus;
  /** Worst outcome among the gating checks that ran to an end. */
  outcome: Outcome;
  /** One line that says why. */
  reason: string;
  durationMs: number;
  /** In configured order. */
  checks: CheckResult[];
}

export const DEFAULT_CONCURRENCY = 8;

class StopReason {
  constructor(
    readonly message: string,
    readonly failFast: boolean,
  ) {}
}

const ABORTED = Symbol('aborted');

function stopMessage(reason: unknown): { message: string; failFast: boolean } {
  if (reason instanceof StopReason) return { message: reason.message, failFast: reason.failFast };
  return { message: `stopped: ${errorMessage(reason, { cause: false })}`, failFast: false };
}

/**
 * Runs a lifecycle event's checks concurrently (bounded) under one deadline and folds their
 * results, worst wins, into a verdict. A throw becomes `error`; a check that outlives its
 * budget is recorded as `error` at the deadline without waiting for it.
 */
export async function runChecks(planned: readonly PlannedCheck[], options: RunOptions): Promise<Verdict> {
  const started = performance.now();
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const failFast = options.failFast ?? true;
  const all = new AbortController();
  // Each running check listens on the shared signal: allow as many as may run at once.
  setMaxListeners(concurrency + 10, all.signal);
  const stop = (reason: StopReason | unknown) => {
    if (!all.signal.aborted) all.abort(reason);
  };

  const budgetMs = Math.max(0, options.deadline - Date.now());
  const deadlineTimer = setTimeout(
    () => stop(new StopReason(`did not finish before the hook deadline (${budgetMs} ms budget)`, false)),
    budgetMs,
  );
  const onOuterAbort = () => stop(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();

  const results: CheckResult[] = new Array(planned.length);
  const skippedByFailFast = new Set<number>();
  let decisive: CheckResult | undefined;
  let next = 0;

  const runOne = async (index: number): Promise<void> => {
    const { check, advisory = false, timeoutMs } = planned[index]!;
    const base = { name: check.name, type: check.type, advisory };
    if (all.signal.aborted) {
      const stopped = stopMessage(all.signal.reason);
      if (stopped.failFast) skippedByFailFast.add(index);
      results[index] = {
        ...base,
        outcome: 'error',
        message: `not started: ${stopped.message}`,
        durationMs: 0,
        assertions: [],
        cancelled: true,
      };
      withEvidence(results[index]);
      return;
    }

    const own = new AbortController();
    const forward = () => own.abort(all.signal.reason);
    all.signal.addEventListener('abort', forward, { once: true });
    const deadline =
      timeoutMs === undefined ? options.deadline : Math.min(options.deadline, Date.now() + timeoutMs);
    const checkTimer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(
            () => own.abort(new StopReason(`did not finish within its ${timeoutMs} ms timeout`, false)),
            timeoutMs,
          );
    const ctx: CheckContext = {
      signal: own.signal,
      deadline,
      targets: options.targets,
      deployment: options.deployment,
      log: options.log,
    };

    options.onStart?.(check.name);
    const t0 = performance.now();
    let result: CheckResult;
    try {
      // A stopped check is recorded at once, without waiting for it to notice.
      const report = await withinDeadline(
        Promise.resolve().then(() => check.run(ctx)),
        { signal: own.signal, abortError: () => ABORTED },
      ).catch((err: unknown) => {
        if (err === ABORTED) return ABORTED;
        throw err;
      });
      const durationMs = Math.round(performance.now() - t0);
      if (report === ABORTED) {
        const stopped = stopMessage(own.signal.reason);
        if (stopped.failFast) skippedByFailFast.add(index);
        result = {
          ...base,
          outcome: 'error',
          message: stopped.message,
          durationMs,
          assertions: [],
          cancelled: true,
        };
      } else {
        result = fromReport(base, report as CheckReport, durationMs);
      }
    } catch (err) {
      const durationMs = Math.round(performance.now() - t0);
      result = {
        ...base,
        outcome: 'error',
        message: `threw: ${errorMessage(err, { cause: false })}`,
        durationMs,
        assertions: [],
      };
    } finally {
      clearTimeout(checkTimer);
      all.signal.removeEventListener('abort', forward);
    }
    results[index] = withEvidence(result);
    options.onResult?.(result);
    if (failFast && !decisive && !result.cancelled && decidesFailure(result)) {
      decisive = result;
      stop(
        new StopReason(`cancelled: '${result.name}' already decided the verdict (${result.outcome})`, true),
      );
    }
  };

  const worker = async () => {
    while (next < planned.length) await runOne(next++);
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, planned.length) }, worker));
  } finally {
    clearTimeout(deadlineTimer);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }

  const counted = results.filter((r, i) => !r.advisory && !skippedByFailFast.has(i));
  return foldVerdict(results, counted, Math.round(performance.now() - started), decisive);
}

/**
 * Worst wins over the gating results (`counted`, default: every non-advisory one), as a verdict.
 * Also used by bake windows, whose results are assembled over several runs.
 */
export function foldVerdict(
  results: CheckResult[],
  counted: CheckResult[] = results.filter((r) => !r.advisory),
  durationMs = 0,
  decisive?: CheckResult,
): Verdict {
  const outcome = worstOutcome(counted.map((r) => r.outcome));
  return {
    status: toCodeDeployStatus(outcome),
    outcome,
    reason: explain(results, counted, outcome, decisive),
    durationMs,
    checks: results,
  };
}

function fromReport(
  base: Pick<CheckResult, 'name' | 'type' | 'advisory'>,
  report: CheckReport,
  durationMs: number,
): CheckResult {
  const valid = report && typeof report === 'object' && OUTCOMES.includes(report.outcome);
  if (!valid) {
    return { ...base, outcome: 'error', message: 'returned no valid outcome', durationMs, assertions: [] };
  }
  const result: CheckResult = {
    ...base,
    outcome: report.outcome,
    message: report.message || report.outcome,
    durationMs,
    assertions: report.assertions ?? [],
  };
  if (report.details) result.details = report.details;
  return result;
}

/**
 * Every result that did not pass carries at least one failing assertion, so the verdict, the
 * CLI table and notifications always show evidence. A check that threw, timed out or reported a
 * bare `error` gets one that says what was expected (a finished check that passed) and what
 * happened instead.
 */
function withEvidence(result: CheckResult): CheckResult {
  if (result.outcome === 'passed' || result.assertions.some((a) => !a.ok)) return result;
  result.assertions = [...result.assertions, outcomeAssertion(result)];
  return result;
}

function explain(
  all: CheckResult[],
  counted: CheckResult[],
  outcome: Outcome,
  decisive?: CheckResult,
): string {
  const advisoryNotes = all
    .filter((r) => r.advisory && r.outcome !== 'passed')
    .map((r) => `advisory '${r.name}' ${r.outcome}: ${r.message}`);
  const suffix = advisoryNotes.length ? `; ${advisoryNotes.join('; ')}` : '';
  if (counted.length === 0 && all.every((r) => r.advisory)) {
    return `no gating checks${suffix}`;
  }
  if (outcome === 'passed') {
    return `all ${counted.length} gating check${counted.length === 1 ? '' : 's'} passed${suffix}`;
  }
  const culprit = decisive ?? counted.find((r) => r.outcome === outcome)!;
  const others = counted.filter((r) => r !== culprit && r.outcome !== 'passed').length;
  const more = others ? ` (+${others} more not passed)` : '';
  return `'${culprit.name}' ${culprit.outcome}: ${culprit.message}${more}${suffix}`;
}
