import type { RehearsalResult } from '../../rehearsal/rehearsal';
import type { TimelineEvent } from '../../rehearsal/timeline';
import { runRehearsals } from './run-rehearsals';

let result: RehearsalResult | { error: string } | undefined;
let approved: RehearsalResult | { error: string } | undefined;
let timedOut: RehearsalResult | { error: string } | undefined;

// The scenario runs in a real Node process with its own embedded PostgreSQL, as `greenlight rehearse` does.
// A window measurement that starts later than one interval is missed, not made up (as in a real
// hook), so a deployment minute gets 250 ms here: a 60 s interval is 250 ms of real time, which a
// loaded 2-core machine still keeps, where 10 ms let it miss the 4th measurement and pass.
beforeAll(async () => {
  [result, approved, timedOut] = await runRehearsals([
    { scenario: 'error-burst-after-shift', minuteMs: 250 },
    { scenario: 'approved-release', minuteMs: 250 },
    { scenario: 'approval-timeout', minuteMs: 250 },
  ]);
}, 120_000);

describe('the error-burst-after-shift rehearsal', () => {
  it('rolls back at AfterAllowTraffic when the bake window catches the 500s after the shift', () => {
    if (!result || 'error' in result) throw new Error(result?.error ?? 'no result');
    expect(result).toMatchObject({ status: 'Stopped', rolledBackAt: 'AfterAllowTraffic' });
    const bake = result.events.find(
      (e): e is Extract<TimelineEvent, { kind: 'check' }> => e.kind === 'check' && e.result.name === 'bake',
    )!.result;
    expect(bake.outcome).toBe('failed');
    expect(bake.message).toMatch(
      /^measurement \d+ of 11 failed at .*returned 500, expected 200.*\(1 not passed, failureLimit 0\)$/,
    );
    const measurements = bake.details!.measurements as Array<{ outcome: string }>;
    expect(measurements.map((m) => m.outcome)).toEqual(['passed', 'passed', 'passed', 'failed']);
    // All production traffic had moved to green before the window began; the rollback moved it back.
    const traffic = result.events.filter(
      (e): e is Extract<TimelineEvent, { kind: 'traffic' }> => e.kind === 'traffic' && e.listener === 'prod',
    );
    expect(traffic.map((t) => t.weights.green)).toContain(100);
    expect(traffic.at(-1)!.weights).toEqual({ blue: 100, green: 0 });
  });
});

const signOff = (r: RehearsalResult | { error: string } | undefined) => {
  if (!r || 'error' in r) throw new Error(r?.error ?? 'no result');
  const found = r.events.find(
    (e): e is Extract<TimelineEvent, { kind: 'check' }> => e.kind === 'check' && e.result.name === 'sign-off',
  );
  return { result: r, signOff: found!.result };
};

describe('the approval rehearsals', () => {
  it('lets production move once the release manager approves', () => {
    const { result: r, signOff: check } = signOff(approved);
    expect(r.status).toBe('Succeeded');
    expect(check.outcome).toBe('passed');
    expect(check.message).toBe(
      'approved by arn:aws:sts::123456789012:assumed-role/ReleaseManagers/rehearsal: rehearsal: dashboards look fine',
    );
    expect(check.details).toMatchObject({ approver: expect.stringContaining('ReleaseManagers') });
  });

  it('rolls back at BeforeAllowTraffic when nobody answers before the timeout', () => {
    const { result: r, signOff: check } = signOff(timedOut);
    expect(r).toMatchObject({ status: 'Stopped', rolledBackAt: 'BeforeAllowTraffic' });
    expect(check.outcome).toBe('failed');
    expect(check.message).toMatch(/^no decision within 5 min \(requested \S+\); failing closed$/);
  });
});
