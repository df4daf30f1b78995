import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult } from '../../checks/types';
import type { RehearsalResult } from '../../rehearsal/rehearsal';
import type { TimelineEvent } from '../../rehearsal/timeline';
import { runRehearsals } from './run-rehearsals';

const dir = mkdtempSync(join(tmpdir(), 'greenlight-rehearsal-config-'));
const SMOKE_ONLY = join(dir, 'greenlight.yml');
writeFileSync(
  SMOKE_ONLY,
  `targets: { test: "https://green.example.com", prod: "https://blue.example.com" }
checks:
  smoke:
    type: http
    requests: [{ path: /health, expect: { status: 200 } }]
hooks: { AfterAllowTestTraffic: [smoke] }
`,
);
const UNKNOWN_REF = join(dir, 'unknown.yml');
writeFileSync(UNKNOWN_REF, 'targets: { test: "${rehearsal:green-url}" }\n');

const JOBS = [
  { scenario: 'good' },
  { scenario: 'broken-endpoint' },
  { scenario: 'dropped-column' },
  { scenario: 'session-format-change' },
  { scenario: 'slow-start' },
  { scenario: 'crash-loop' },
  { scenario: 'health-check-path' },
  { scenario: 'dropped-column', configPath: SMOKE_ONLY },
  { scenario: 'good', configPath: UNKNOWN_REF },
];
let results: Array<RehearsalResult | { error: string }>;

// Every scenario runs once, in one Node process sharing one embedded PostgreSQL, as the CLI does.
beforeAll(async () => {
  results = await runRehearsals(JOBS);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rehearse(name: string, configPath?: string): Promise<RehearsalResult> {
  const index = JOBS.findIndex((j) => j.scenario === name && j.configPath === configPath);
  const result = results[index]!;
  if ('error' in result) throw new Error(result.error);
  return result;
}

const kinds = (result: RehearsalResult) =>
  result.events.map((e) =>
    'hook' in e && e.kind !== 'check' ? `${e.kind}:${e.hook}` : e.kind === 'step' ? `step:${e.step}` : e.kind,
  );
const checksAt = (result: RehearsalResult, hook: string): Record<string, CheckResult> =>
  Object.fromEntries(
    result.events
      .filter((e): e is Extract<TimelineEvent, { kind: 'check' }> => e.kind === 'check' && e.hook === hook)
      .map((e) => [e.result.name, e.result]),
  );
const reports = (result: RehearsalResult) =>
  result.events
    .filter((e): e is Extract<TimelineEvent, { kind: 'hook-reported' }> => e.kind === 'hook-reported')
    .map((e) => `${e.hook}:${e.status}`);

describe('rehearsal scenarios, end to end', () => {
  it('good: every hook reports Succeeded through the SDK and production ends on green at 100%', async () => {
    const result = await rehearse('good');
    expect(result.status).toBe('Succeeded');
    expect(result.weights.prod).toEqual({ blue: 0, green: 100 });
    expect(reports(result)).toEqual([
      'AfterAllowTestTraffic:Succeeded',
      'BeforeAllowTraffic:Succeeded',
      'AfterAllowTraffic:Succeeded',
    ]);
    expect(
      Object.values(checksAt(result, 'AfterAllowTestTraffic')).map((c) => `${c.name}:${c.outcome}`),
    ).toEqual(['smoke:passed', 'schema:passed', 'sessions:passed']);
    // The lifecycle runs in CodeDeploy's order, and production shifts in ten linear steps.
    const order = kinds(result).filter((k) => k !== 'traffic');
    expect(order.indexOf('step:Install')).toBeLessThan(order.indexOf('hook-invoked:AfterAllowTestTraffic'));
    expect(order.indexOf('step:AllowTestTraffic')).toBeLessThan(
      order.indexOf('hook-invoked:AfterAllowTestTraffic'),
    );
    expect(order.indexOf('step:AllowTraffic')).toBeGreaterThan(
      order.indexOf('hook-reported:BeforeAllowTraffic'),
    );
    const shifts = result.events.filter(
      (e): e is Extract<TimelineEvent, { kind: 'traffic' }> =>
        e.kind === 'traffic' && e.listener === 'prod' && e.served !== undefined,
    );
    expect(shifts.map((s) => s.weights.green)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(shifts[4]!.served).toEqual({ blue: 5, green: 5 });
    expect(result.events.at(-1)).toMatchObject({ kind: 'deployment-ended', status: 'Succeeded' });
  });

  it('broken-endpoint: rolled back at AfterAllowTestTraffic because smoke saw the 500 on the test listener', async () => {
    const result = await rehearse('broken-endpoint');
    expect(result).toMatchObject({
      status: 'Stopped',
      rolledBackAt: 'AfterAllowTestTraffic',
      weights: { prod: { blue: 100, green: 0 }, test: { blue: 100, green: 0 } },
    });
    expect(result.reason).toMatch(
      /^'smoke' failed: GET http:\/\/127\.0\.0\.1:\d+\/api\/users\/1 returned 500, expected 200/,
    );
    expect(checksAt(result, 'AfterAllowTestTraffic').smoke!.assertions).toContainEqual(
      expect.objectContaining({
        what: expect.stringContaining('status'),
        expected: 200,
        actual: 500,
        ok: false,
      }),
    );
    expect(kinds(result)).not.toContain('hook-invoked:BeforeAllowTraffic');
    expect(result.events.filter((e) => e.kind === 'rollback')).toEqual([
      expect.objectContaining({ hook: 'AfterAllowTestTraffic', reason: result.reason }),
    ]);
  });

  it('dropped-column: rolled back at AfterAllowTestTraffic because blue still reads the dropped column', async () => {
    const result = await rehearse('dropped-column');
    expect(result).toMatchObject({ status: 'Stopped', rolledBackAt: 'AfterAllowTestTraffic' });
    expect(result.reason).toMatch(/^'schema' failed: blue reads users\.display_name, which is missing/);
    const schema = checksAt(result, 'AfterAllowTestTraffic').schema!;
    expect(schema.outcome).toBe('failed');
    expect(schema.assertions).toContainEqual(
      expect.objectContaining({ expected: 'present', actual: 'missing', ok: false }),
    );
    expect(result.weights.prod).toEqual({ blue: 100, green: 0 });
  });

  it("session-format-change: rolled back at AfterAllowTestTraffic because blue's sessions do not work on green", async () => {
    const result = await rehearse('session-format-change');
    expect(result).toMatchObject({ status: 'Stopped', rolledBackAt: 'AfterAllowTestTraffic' });
    expect(result.reason).toMatch(/^'sessions' failed: .*green rejects 1 of 1 of blue's session samples/);
    expect(result.reason).toContain('sampled 12 sessions under "sess:": 12 (100%) not readable by green');
    expect(result.reason).toMatch(
      /end to end blue→green: a session created on blue \(prod\) is not accepted by green/,
    );
    const passed = checksAt(result, 'AfterAllowTestTraffic');
    expect(passed.smoke!.outcome).toBe('passed');
    expect(passed.schema!.outcome).toBe('passed');
  });

  it('slow-start: Install waits for green to pass its health check, then every hook succeeds', async () => {
    const result = await rehearse('slow-start');
    expect(result.status).toBe('Succeeded');
    expect(result.weights.prod).toEqual({ blue: 0, green: 100 });
    const healthy = result.events.find(
      (e) => e.kind === 'step' && e.step === 'Install' && e.message.startsWith('green healthy'),
    );
    expect(healthy).toBeDefined();
    const after = Number(/\((\d+\.\d) s after start\)/.exec((healthy as { message: string }).message)![1]);
    expect(after).toBeGreaterThanOrEqual(3);
    expect(reports(result)).toEqual([
      'AfterAllowTestTraffic:Succeeded',
      'BeforeAllowTraffic:Succeeded',
      'AfterAllowTraffic:Succeeded',
    ]);
  });
});

describe('rehearsal with a user config', () => {
  it('points the targets at the rehearsal listeners, and a smoke-only config misses the dropped column', async () => {
    const result = await rehearse('dropped-column', SMOKE_ONLY);
    // Smoke tests alone pass while blue is already broken: the case for the schema check.
    expect(result.status).toBe('Succeeded');
    expect(checksAt(result, 'AfterAllowTestTraffic').smoke!.message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/health returned 200/,
    );
  });

  it('rejects an unknown ${rehearsal:...} reference with the ones it provides', async () => {
    await expect(rehearse('good', UNKNOWN_REF)).rejects.toThrow(
      /unknown\.yml: unknown reference \$\{rehearsal:green-url\}; the rehearsal provides \$\{rehearsal:test-url\}/,
    );
  });
});

describe('rehearsal scenarios that never get past Install, with the diagnosis greenlight watch prints', () => {
  const diagnosisOf = (result: RehearsalResult) =>
    result.events.find((e): e is Extract<TimelineEvent, { kind: 'diagnosis' }> => e.kind === 'diagnosis');

  it('crash-loop: ECS starts green three times, each exits 1, and the diagnosis names the essential container', async () => {
    const result = await rehearse('crash-loop');
    expect(result.status).toBe('Stopped');
    expect(result.rolledBackAt).toBe('Install');
    expect(result.weights.prod).toEqual({ blue: 100, green: 0 });
    expect(reports(result)).toEqual([]);
    const stops = result.events.filter(
      (e) => e.kind === 'step' && /stopped: Essential container/.test(e.message),
    );
    expect(stops).toHaveLength(3);
    expect(diagnosisOf(result)).toMatchObject({
      cause: 'essential-container-exited',
      line: expect.stringMatching(
        /^diagnosis: essential container exited: task green-3: essential container web exited with code 1 \(3 stopped tasks alike\) \(fix: /,
      ),
    });
  });

  it('health-check-path: green answers 404 on /health, and the diagnosis names the health check path', async () => {
    const result = await rehearse('health-check-path');
    expect(result.rolledBackAt).toBe('Install');
    expect(result.reason).toBe('green answered 404 on its health check (GET /health) 5 times in a row');
    expect(diagnosisOf(result)).toMatchObject({
      cause: 'health-check-path',
      line: expect.stringMatching(
        /^diagnosis: health check path answers an unexpected status: target 127\.0\.0\.1:\d+ in 0000000000000002 unhealthy: Target\.ResponseCodeMismatch \(Health checks failed with these codes: \[404\]\)/,
      ),
    });
  });
});
