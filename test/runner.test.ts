import { runChecks, type PlannedCheck } from '../checks/runner';
import type { Check, CheckContext, CheckReport, Outcome } from '../checks/types';
import { toCodeDeployStatus, toEcsHookStatus, worstOutcome } from '../checks/verdict';
import { silentLogger } from '../lib/log';

const targets = { test: new URL('http://127.0.0.1:8080') };
const deployment = { lifecycleEvent: 'AfterAllowTestTraffic' };

function check(name: string, run: (ctx: CheckContext) => Promise<CheckReport> | CheckReport): Check {
  return { name, type: 'test', run: async (ctx) => run(ctx) };
}

function returning(name: string, outcome: Outcome, delayMs = 0): Check {
  return check(name, async () => {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return { outcome, message: `${name} ${outcome}` };
  });
}

/** A check that waits until its signal fires and records that it did. */
function waitingForSignal(name: string, seen: Record<string, boolean>): Check {
  return check(
    name,
    (ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener('abort', () => {
          seen[name] = true;
          reject(new Error('aborted'));
        });
      }),
  );
}

function run(planned: PlannedCheck[], extra: Partial<Parameters<typeof runChecks>[1]> = {}) {
  return runChecks(planned, {
    deadline: Date.now() + 10_000,
    targets,
    deployment,
    log: silentLogger,
    ...extra,
  });
}

describe('worst wins', () => {
  it.each<[Outcome[], Outcome]>([
    [[], 'passed'],
    [['passed', 'passed'], 'passed'],
    [['passed', 'inconclusive'], 'inconclusive'],
    [['inconclusive', 'error'], 'error'],
    [['error', 'failed', 'passed'], 'failed'],
    [['failed', 'inconclusive'], 'failed'],
  ])('%j folds to %s', (outcomes, worst) => {
    expect(worstOutcome(outcomes)).toBe(worst);
  });

  it.each<[Outcome, string, string]>([
    ['passed', 'Succeeded', 'SUCCEEDED'],
    ['inconclusive', 'Failed', 'FAILED'],
    ['error', 'Failed', 'FAILED'],
    ['failed', 'Failed', 'FAILED'],
  ])('maps %s to CodeDeploy %s and ECS %s', (outcome, codedeploy, ecs) => {
    expect(toCodeDeployStatus(outcome)).toBe(codedeploy);
    expect(toEcsHookStatus(outcome)).toBe(ecs);
  });

  it('gives the verdict of the worst gating check, with its name and message as the reason', async () => {
    const verdict = await run(
      [
        { check: returning('a', 'passed') },
        { check: returning('b', 'inconclusive') },
        { check: returning('c', 'error') },
      ],
      { failFast: false },
    );
    expect(verdict).toMatchObject({ status: 'Failed', outcome: 'error' });
    expect(verdict.reason).toBe("'c' error: c error (+1 more not passed)");
    expect(verdict.checks.map((c) => c.outcome)).toEqual(['passed', 'inconclusive', 'error']);
  });
});

describe('runner', () => {
  it('succeeds when every gating check passes and keeps the configured order', async () => {
    const verdict = await run([
      { check: returning('slow', 'passed', 30) },
      { check: returning('fast', 'passed') },
    ]);
    expect(verdict.status).toBe('Succeeded');
    expect(verdict.reason).toBe('all 2 gating checks passed');
    expect(verdict.checks.map((c) => c.name)).toEqual(['slow', 'fast']);
    expect(verdict.checks[0]!.durationMs).toBeGreaterThanOrEqual(25);
  });

  it('fails fast: the first gating failure fires the signals of the checks still running', async () => {
    const seen: Record<string, boolean> = {};
    const started = Date.now();
    const verdict = await run([
      { check: waitingForSignal('slow-1', seen) },
      { check: returning('broken', 'failed', 20) },
      { check: waitingForSignal('slow-2', seen) },
    ]);
    expect(seen).toEqual({ 'slow-1': true, 'slow-2': true });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(verdict).toMatchObject({
      status: 'Failed',
      outcome: 'failed',
      reason: "'broken' failed: broken failed",
    });
    expect(verdict.checks[0]).toMatchObject({ outcome: 'error', cancelled: true });
    expect(verdict.checks[0]!.message).toMatch(/'broken' already decided the verdict/);
  });

  it('does not start queued checks once the verdict is decided', async () => {
    const started: string[] = [];
    const tracked = (name: string, outcome: Outcome) =>
      check(name, () => {
        started.push(name);
        return { outcome, message: outcome };
      });
    const verdict = await run(
      [{ check: tracked('first', 'failed') }, { check: tracked('second', 'passed') }],
      { concurrency: 1 },
    );
    expect(started).toEqual(['first']);
    expect(verdict.checks[1]).toMatchObject({
      cancelled: true,
      message: expect.stringMatching(/^not started: /),
    });
  });

  it('runs everything to the end with failFast off', async () => {
    const verdict = await run(
      [{ check: returning('broken', 'failed') }, { check: returning('later', 'passed', 20) }],
      { failFast: false },
    );
    expect(verdict.checks.map((c) => c.outcome)).toEqual(['failed', 'passed']);
    expect(verdict.checks.some((c) => c.cancelled)).toBe(false);
  });

  it('never lets an advisory check change the verdict or cancel the others', async () => {
    const seen: Record<string, boolean> = {};
    const verdict = await run([
      { check: returning('noisy', 'failed'), advisory: true },
      { check: returning('flaky', 'error'), advisory: true },
      { check: returning('real', 'passed', 30) },
    ]);
    expect(seen).toEqual({});
    expect(verdict.status).toBe('Succeeded');
    expect(verdict.checks.map((c) => c.outcome)).toEqual(['failed', 'error', 'passed']);
    expect(verdict.reason).toBe(
      "all 1 gating check passed; advisory 'noisy' failed: noisy failed; advisory 'flaky' error: flaky error",
    );
  });

  it('records a thrown error, sync or async, as error with its message', async () => {
    const verdict = await run(
      [
        { check: check('async-throw', async () => Promise.reject(new Error('database exploded'))) },
        {
          check: {
            name: 'sync-throw',
            type: 'test',
            run: () => {
              throw new TypeError('cannot read x of undefined');
            },
          },
        },
      ],
      { failFast: false },
    );
    expect(verdict.checks.map((c) => [c.outcome, c.message])).toEqual([
      ['error', 'threw: database exploded'],
      ['error', 'threw: cannot read x of undefined'],
    ]);
    expect(verdict.status).toBe('Failed');
  });

  it('records a check that ignores its signal as error at the deadline, without waiting for it', async () => {
    const started = Date.now();
    const verdict = await run([{ check: check('stuck', () => new Promise<CheckReport>(() => {})) }], {
      deadline: Date.now() + 150,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(verdict.checks[0]).toMatchObject({ outcome: 'error', cancelled: true });
    expect(verdict.checks[0]!.message).toMatch(/did not finish before the hook deadline/);
  });

  it('stops a check at its own timeoutMs and says so', async () => {
    const seen: Record<string, boolean> = {};
    const verdict = await run([{ check: waitingForSignal('bounded', seen), timeoutMs: 50 }]);
    expect(seen.bounded).toBe(true);
    expect(verdict.checks[0]!.message).toBe('did not finish within its 50 ms timeout');
  });

  it('turns a result without a valid outcome into error', async () => {
    const verdict = await run([
      { check: check('sloppy', () => ({ outcome: 'ok' }) as unknown as CheckReport) },
    ]);
    expect(verdict.checks[0]).toMatchObject({ outcome: 'error', message: 'returned no valid outcome' });
  });

  it('runs at most `concurrency` checks at once', async () => {
    let running = 0;
    let peak = 0;
    const counted = (name: string) =>
      check(name, async () => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return { outcome: 'passed', message: 'ok' };
      });
    const verdict = await run(
      Array.from({ length: 10 }, (_, i) => ({ check: counted(`c${i}`) })),
      { concurrency: 3 },
    );
    expect(verdict.status).toBe('Succeeded');
    expect(peak).toBe(3);
  });

  it('stops everything when the outer signal fires', async () => {
    const outer = new AbortController();
    const seen: Record<string, boolean> = {};
    setTimeout(() => outer.abort(new Error('interrupted')), 20);
    const verdict = await run([{ check: waitingForSignal('w', seen) }], { signal: outer.signal });
    expect(seen.w).toBe(true);
    expect(verdict).toMatchObject({ status: 'Failed', outcome: 'error' });
    expect(verdict.checks[0]!.message).toBe('stopped: interrupted');
  });

  it('passes the deadline, targets and deployment to each check', async () => {
    let seenCtx: CheckContext | undefined;
    const deadline = Date.now() + 5_000;
    await run([{ check: check('ctx', (ctx) => ((seenCtx = ctx), { outcome: 'passed', message: 'ok' })) }], {
      deadline,
    });
    expect(seenCtx?.deadline).toBe(deadline);
    expect(seenCtx?.targets.test?.href).toBe('http://127.0.0.1:8080/');
    expect(seenCtx?.deployment.lifecycleEvent).toBe('AfterAllowTestTraffic');
  });

  it('gives every result that did not pass a failing assertion, and leaves evidence a check gave alone', async () => {
    const verdict = await run(
      [
        { check: check('threw', async () => Promise.reject(new Error('database exploded'))) },
        { check: check('bare', () => ({ outcome: 'inconclusive', message: 'no datapoints' })) },
        {
          check: check('evident', () => ({
            outcome: 'failed',
            message: 'status 503',
            assertions: [{ what: 'status', expected: 200, actual: 503, ok: false }],
          })),
        },
        { check: returning('fine', 'passed') },
        { check: check('stuck', () => new Promise<CheckReport>(() => {})), timeoutMs: 30 },
      ],
      { failFast: false },
    );
    const byName = Object.fromEntries(verdict.checks.map((c) => [c.name, c.assertions]));
    expect(byName.threw).toEqual([
      {
        what: 'outcome',
        expected: 'passed',
        actual: 'error: threw: database exploded',
        ok: false,
      },
    ]);
    expect(byName.bare).toEqual([
      { what: 'outcome', expected: 'passed', actual: 'inconclusive: no datapoints', ok: false },
    ]);
    expect(byName.evident).toEqual([{ what: 'status', expected: 200, actual: 503, ok: false }]);
    expect(byName.fine).toEqual([]);
    expect(byName.stuck?.[0]?.actual).toBe('error: did not finish within its 30 ms timeout');
  });
});
