import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LifecycleEvent } from '../../../checks/types';
import type { CodeDeploySender } from '../../../lib/codedeploy-client';
import { createHookHandler, type HookOutcome } from '../../../hooks/hook-handler';
import { createLogger } from '../../../lib/log';
import type { AcceptedReport, FaultyCall, LocalCodeDeploy } from './faulty-aws-server';

/**
 * Recognisable secrets every scenario's config carries (through `${env:...}`). None may ever
 * appear in a log line, an outcome, an error or a report.
 */
export const SECRETS = {
  FAULTS_DB_PASSWORD: 'pw-faults-Db7q2Zx9',
  FAULTS_STORE_PASSWORD: 'pw-faults-Rd3n6Yt0',
  FAULTS_LOGIN_PASSWORD: 'pw-faults-Lg5h1Qc8',
  FAULTS_API_TOKEN: 'tok-faults-Ap4k8Wm1',
} as const;

export function installSecrets(): void {
  Object.assign(process.env, SECRETS);
}

/**
 * A check defined in every generated config but listed under no hook: its credentials are
 * resolved, registered and carried in memory by every scenario, whatever the check under test.
 */
export const CREDENTIALS_CHECK = `  credentials:
    type: http
    headers: { authorization: "Bearer \${env:FAULTS_API_TOKEN}" }
    requests: [{ method: POST, path: /login, json: { user: smoke, password: "\${env:FAULTS_LOGIN_PASSWORD}" } }]
`;

/** A whole greenlight.yml: `checks` is the indented YAML of the checks, all run at AfterAllowTestTraffic. */
export function hookConfig(options: {
  checks: string;
  hooked: string[];
  targets?: string;
  reportReserveMs?: number;
}): string {
  return [
    `targets: ${options.targets ?? '{ test: "http://127.0.0.1:9", prod: "http://127.0.0.1:9" }'}`,
    'checks:',
    options.checks.trimEnd(),
    CREDENTIALS_CHECK.trimEnd(),
    `hooks:\n  AfterAllowTestTraffic: [${options.hooked.join(', ')}]`,
    `runner: { reportReserveMs: ${options.reportReserveMs ?? 1000} }`,
    '',
  ].join('\n');
}

export interface ExecutionIds {
  DeploymentId: string;
  LifecycleEventHookExecutionId: string;
}

export interface HookScenario<F> {
  /** The behaviour, as the test name states it. */
  name: string;
  event?: LifecycleEvent;
  /** The config file's text (it may name the scenario's ids); undefined: no file at all. */
  config?: (fixtures: F, ids: ExecutionIds) => string | undefined;
  /** The Lambda event; default: the scenario's own ids. */
  payload?: (ids: ExecutionIds) => unknown;
  /** The Lambda's whole budget (getRemainingTimeInMillis runs down from it in real time). */
  budgetMs: number;
  /** Script CodeDeploy (or anything else) for this execution before the hook runs. */
  prepare?: (fixtures: F, ids: ExecutionIds) => void | Promise<void>;
  /** A CodeDeploy client other than the default one (e.g. pointed at a dead endpoint). */
  codedeploy?: (fixtures: F) => CodeDeploySender;
  /** `twice`: a second invocation with the same ids after the first; `twice-at-once`: both in flight together. */
  invoke?: 'once' | 'twice' | 'twice-at-once';
  expect: {
    /** Reports CodeDeploy accepted for this execution: exactly one, or none when reporting is impossible. */
    reports: 0 | 1;
    status?: 'Succeeded' | 'Failed';
    /** Per invocation: how it ended. */
    delivery: Array<HookOutcome['delivery'] | 'throws ReportError'>;
    /** The reason (or, for a throw, the error message) of the first invocation. */
    reason: RegExp;
    /** A log line of the scenario (message and reason together) that says why. */
    log?: RegExp;
    /** What else only this scenario can show (e.g. how many attempts the fault cost). */
    more?: (run: ScenarioRun, fixtures: F) => void;
  };
}

/** One invocation of the handler. */
export interface Invocation {
  startedAt: number;
  deadlineAt: number;
  settledAt: number;
  outcome?: HookOutcome;
  error?: Error;
}

export interface ScenarioRun {
  ids: ExecutionIds;
  invocations: Invocation[];
  reports: AcceptedReport[];
  attempts: FaultyCall[];
}

/** A Lambda context whose remaining time runs down in real time. */
export function lambdaContext(budgetMs: number) {
  const deadlineAt = Date.now() + budgetMs;
  return {
    deadlineAt,
    context: {
      getRemainingTimeInMillis: () => deadlineAt - Date.now(),
      awsRequestId: `req-${randomBytes(4).toString('hex')}`,
    },
  };
}

/** Runs one scenario through the real hook handler, reading its own config file from `dir`. */
export async function runScenario<F>(
  scenario: HookScenario<F>,
  fixtures: F,
  env: { dir: string; codeDeploy: LocalCodeDeploy },
): Promise<ScenarioRun> {
  const tag = randomBytes(5).toString('hex');
  const ids: ExecutionIds = {
    DeploymentId: `d-${tag.toUpperCase().slice(0, 9)}`,
    LifecycleEventHookExecutionId: `faults-${tag}-exec==`,
  };
  const configPath = join(env.dir, `greenlight-${tag}.yml`);
  const text = scenario.config?.(fixtures, ids);
  if (text !== undefined) writeFileSync(configPath, text);
  await scenario.prepare?.(fixtures, ids);
  const handler = createHookHandler(scenario.event ?? 'AfterAllowTestTraffic', {
    configPath,
    log: createLogger({ scenario: scenario.name }),
    ...(scenario.codedeploy ? { codedeploy: scenario.codedeploy(fixtures) } : {}),
  });
  const payload = scenario.payload ? scenario.payload(ids) : ids;
  const invokeOnce = async (): Promise<Invocation> => {
    const { context, deadlineAt } = lambdaContext(scenario.budgetMs);
    const startedAt = Date.now();
    try {
      const outcome = await handler(payload, context);
      return { startedAt, deadlineAt, settledAt: Date.now(), outcome };
    } catch (err) {
      return { startedAt, deadlineAt, settledAt: Date.now(), error: err as Error };
    }
  };
  const invocations: Invocation[] = [];
  if (scenario.invoke === 'twice-at-once')
    invocations.push(...(await Promise.all([invokeOnce(), invokeOnce()])));
  else {
    invocations.push(await invokeOnce());
    if (scenario.invoke === 'twice') invocations.push(await invokeOnce());
  }
  return {
    ids,
    invocations,
    reports: env.codeDeploy.reportsFor(ids.LifecycleEventHookExecutionId),
    attempts: env.codeDeploy.attemptsFor(ids.LifecycleEventHookExecutionId),
  };
}

/** Runs `work` over `items`, at most `limit` at once, keeping the order of the results. */
export async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The log lines one scenario wrote (its logger tags every line with the scenario name). */
export function scenarioLogs(
  lines: Array<Record<string, unknown>>,
  name: string,
): Array<Record<string, unknown>> {
  return lines.filter((l) => l.scenario === name);
}

/** The assertions every scenario must pass, whatever its fault. */
export function assessScenario<F>(
  scenario: HookScenario<F>,
  run: ScenarioRun,
  logs: Array<Record<string, unknown>>,
  fixtures: F,
): void {
  const [first] = run.invocations;
  // Delivered (or given up) before the Lambda deadline, every invocation.
  for (const invocation of run.invocations) {
    expect(invocation.settledAt).toBeLessThanOrEqual(invocation.deadlineAt);
  }
  const deliveries = run.invocations.map((i) => (i.error ? `throws ${i.error.name}` : i.outcome!.delivery));
  // Invocations in flight together may reach CodeDeploy in either order.
  if (scenario.invoke === 'twice-at-once')
    expect(deliveries.sort()).toEqual([...scenario.expect.delivery].sort());
  else expect(deliveries).toEqual(scenario.expect.delivery);

  // Exactly one accepted report (or none), before the deadline of the invocation that sent it.
  expect(run.reports).toHaveLength(scenario.expect.reports);
  for (const report of run.reports) {
    expect(report.receivedAt).toBeLessThanOrEqual(Math.max(...run.invocations.map((i) => i.deadlineAt)));
    expect(report.deploymentId).toBe(run.ids.DeploymentId);
    if (scenario.expect.status) expect(report.status).toBe(scenario.expect.status);
  }
  if (first!.outcome && scenario.expect.status) expect(first!.outcome.status).toBe(scenario.expect.status);

  // A reason that names the fault.
  const reason = first!.error ? first!.error.message : first!.outcome!.reason;
  expect(reason).toMatch(scenario.expect.reason);
  if (scenario.expect.log) {
    const said = logs.map((l) => `${String(l.message)}: ${String(l.reason ?? '')}`);
    expect(said).toEqual(expect.arrayContaining([expect.stringMatching(scenario.expect.log)]));
  }

  // No secret in the outcome, the error, the report bodies or the scenario's logs.
  const evidence = JSON.stringify({
    outcomes: run.invocations.map((i) => i.outcome),
    errors: run.invocations.map((i) => i.error && { message: i.error.message, stack: i.error.stack }),
    bodies: run.attempts.map((a) => a.body),
    logs,
  });
  for (const secret of Object.values(SECRETS)) expect(evidence).not.toContain(secret);

  scenario.expect.more?.(run, fixtures);
}

/** What a matrix file has once its scenarios ran (in its beforeAll). */
export interface MatrixRun<F> {
  runs: Map<string, ScenarioRun>;
  /** Every JSON log line written while the scenarios ran, and all the text of stdout and stderr. */
  output: { lines(): Array<Record<string, unknown>>; text(): string };
  fixtures: F;
  heapGrowthBytes: number;
}

/**
 * The tests of a fault matrix: one per scenario (assessScenario), no secret anywhere in the
 * output, and heap growth across the matrix under `maxHeapGrowthBytes`.
 */
export function describeFaultMatrix<F>(
  title: string,
  scenarios: Array<HookScenario<F>>,
  matrix: () => MatrixRun<F>,
  maxHeapGrowthBytes: number,
): void {
  describe(title, () => {
    it.each(scenarios.map((s) => [s.name, s] as const))('%s', (_name, scenario) => {
      const { runs, output, fixtures } = matrix();
      assessScenario(
        scenario,
        runs.get(scenario.name)!,
        scenarioLogs(output.lines(), scenario.name),
        fixtures,
      );
    });

    it('writes no secret anywhere on stdout or stderr across the whole matrix', () => {
      const text = matrix().output.text();
      expect(text).toContain('"scenario"');
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    });

    it('keeps the heap bounded across the matrix', () => {
      expect(matrix().heapGrowthBytes).toBeLessThan(maxHeapGrowthBytes);
    });
  });
}

let collect: (() => void) | undefined;

/** A full garbage collection when it can be had (v8's gc, exposed at run time), else nothing. */
export function collectGarbage(): void {
  if (!collect) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    } catch {
      collect = () => {};
    }
  }
  collect();
  collect();
}

/** Heap in use after a full collection, in bytes. */
export function settledHeapBytes(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}
