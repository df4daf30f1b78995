import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type Redis from 'ioredis';
import { parseDocument } from 'yaml';
import type { CheckResult, LifecycleEvent } from '../checks/types';
import { loadConfig } from '../config/config';
import { ConfigError, errorMessage } from '../lib/errors';
import { withinDeadline } from '../lib/within-deadline';
import { scaledClock } from '../lib/clock';
import { createHookHandler } from '../hooks/hook-handler';
import { RehearsalApprovalDesk } from './approval-desk';
import { CodeDeployStandIn } from './codedeploy-stand-in';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres';
import { createHookLogRecorder } from './hook-log-recorder';
import { LocalLoadBalancer, type Color, type ListenerName } from './load-balancer';
import { installGreen } from './green-install';
import { newSessionSigning, startSampleApp, type SampleApp } from './sample-app';
import { BLUE, type Scenario } from './scenarios';
import { SessionStoreServer } from './session-store-server';
import type { TimelineEvent } from './timeline';

/** How fast the rehearsal plays a deployment. */
export interface RehearsalPace {
  /** One deployment-config minute takes this long (CodeDeployDefault.ECSLinear10PercentEvery1Minutes). */
  minuteMs: number;
  /** The hook's Lambda timeout. */
  hookTimeoutMs: number;
  /** CodeDeploy fails a hook that has not reported within an hour; the rehearsal waits this long. */
  reportWaitMs: number;
  /** Target group health check: interval, healthy threshold, and how long Install waits. */
  healthIntervalMs: number;
  healthyThreshold: number;
  installTimeoutMs: number;
}

export const DEFAULT_PACE: RehearsalPace = {
  minuteMs: 100,
  hookTimeoutMs: 20_000,
  reportWaitMs: 25_000,
  healthIntervalMs: 250,
  healthyThreshold: 2,
  installTimeoutMs: 15_000,
};

const LINEAR_STEP_PERCENT = 10;
const DEPLOYMENT_CONFIG = 'CodeDeployDefault.ECSLinear10PercentEvery1Minutes';
const SEEDED_SESSIONS = 12;
const SAMPLE_REQUESTS_PER_STEP = 10;
const HOOKED_EVENTS: readonly LifecycleEvent[] = [
  'BeforeInstall',
  'AfterInstall',
  'AfterAllowTestTraffic',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
];

/** How a rehearsed deployment ended. */
export interface RehearsalResult {
  scenario: string;
  deploymentId: string;
  status: 'Succeeded' | 'Stopped';
  /** The hook (or step) whose failure rolled the deployment back. */
  rolledBackAt?: string;
  reason?: string;
  /** Production and test listener weights at the end. */
  weights: Record<ListenerName, Record<Color, number>>;
  events: TimelineEvent[];
  durationMs: number;
}

/** The sample config shipped with greenlight: `rehearsal/greenlight.yml`, from source or from `dist/`. */
export function sampleConfigPath(): string {
  const candidates = [
    join(__dirname, 'greenlight.yml'),
    join(__dirname, '..', '..', 'rehearsal', 'greenlight.yml'),
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

/**
 * The parts that outlive one scenario: the embedded PostgreSQL (its start is the slow part) and
 * the CodeDeploy stand-in. Each scenario gets a fresh schema, store, apps and load balancer.
 */
export interface RehearsalWorld {
  postgres: EmbeddedPostgres;
  codedeploy: CodeDeployStandIn;
  close(): Promise<void>;
}

export async function openRehearsalWorld(): Promise<RehearsalWorld> {
  const codedeploy = new CodeDeployStandIn();
  await codedeploy.start();
  let postgres: EmbeddedPostgres;
  try {
    postgres = await startEmbeddedPostgres();
  } catch (err) {
    await codedeploy.stop();
    throw err;
  }
  return {
    postgres,
    codedeploy,
    async close() {
      await codedeploy.stop();
      await postgres.stop();
    },
  };
}

/** Fills in `${rehearsal:...}` and points the targets at the rehearsal's listeners. */
export function renderRehearsalConfig(text: string, source: string, values: Record<string, string>): string {
  const rendered = text.replace(/\$\{rehearsal:([a-z][a-z0-9-]*)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new ConfigError(
        `${source}: unknown reference ${whole}; the rehearsal provides ${Object.keys(values)
          .map((k) => `\${rehearsal:${k}}`)
          .join(', ')}`,
      );
    }
    return value;
  });
  const doc = parseDocument(rendered);
  if (doc.errors.length) return rendered; // the config loader reports the YAML error with its position
  doc.setIn(['targets', 'test'], values['test-url']);
  doc.setIn(['targets', 'prod'], values['prod-url']);
  return doc.toString();
}

class Stopwatch {
  private readonly t0 = performance.now();
  get ms(): number {
    return Math.round(performance.now() - this.t0);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function resetDatabase(postgres: EmbeddedPostgres): Promise<void> {
  await postgres.db.exec('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;');
}

/** GETs through a listener, for seeding sessions and for showing how traffic splits. */
async function httpCall(url: URL, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(5_000) });
}

/**
 * Plays one whole ECS blue/green deployment of the sample app through CodeDeploy's lifecycle:
 * blue (v1) serves production; Install starts green (the scenario's v2) and waits for its health
 * check; each lifecycle event with checks invokes the real hook handler with a real event, which
 * reports through the real AWS SDK to the CodeDeploy stand-in; the test listener moves to green,
 * production shifts in linear steps, and a Failed report rolls everything back to blue.
 */
export async function rehearseScenario(
  world: RehearsalWorld,
  scenario: Scenario,
  options: {
    configPath?: string;
    onEvent?: (event: TimelineEvent) => void;
    pace?: Partial<RehearsalPace>;
  } = {},
): Promise<RehearsalResult> {
  const pace = { ...DEFAULT_PACE, ...options.pace };
  const configPath = options.configPath ?? sampleConfigPath();
  const clock = new Stopwatch();
  const events: TimelineEvent[] = [];
  const emit = (event: TimelineEvent) => {
    events.push(event);
    options.onEvent?.(event);
  };
  const at = () => clock.ms;

  const cleanup: Array<() => Promise<void>> = [];
  const { postgres, codedeploy } = world;
  const lb = new LocalLoadBalancer();
  let green: SampleApp | undefined;
  let status: RehearsalResult['status'] = 'Stopped';
  let rolledBackAt: string | undefined;
  let reason: string | undefined;
  const deploymentId = codedeploy.createDeployment();

  try {
    await resetDatabase(postgres);
    const store = new SessionStoreServer();
    const storeAddress = await store.start();
    cleanup.push(() => store.stop());
    const { default: RedisClient } = await import('ioredis');
    const redis: Redis = new RedisClient({
      host: storeAddress.host,
      port: storeAddress.port,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      lazyConnect: true,
    });
    await redis.connect();
    cleanup.push(async () => void redis.disconnect());
    const signing = newSessionSigning();

    const blue = await startSampleApp(BLUE, { db: postgres.db, redis, signing });
    cleanup.push(() => blue.stop());
    const listeners = await lb.start();
    cleanup.push(() => lb.stop());
    lb.setTarget('blue', blue.url);
    lb.setWeights('prod', { blue: 100, green: 0 });
    lb.setWeights('test', { blue: 100, green: 0 });

    // Users are logged in on blue before the deployment starts: their sessions must survive it.
    const emails = ['ada@example.com', 'grace@example.com', 'linus@example.com'];
    for (let i = 0; i < SEEDED_SESSIONS; i++) {
      const res = await httpCall(new URL('/login', listeners.prod), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: emails[i % emails.length] }),
      });
      await res.arrayBuffer();
    }

    const tmp = await mkdtemp(join(tmpdir(), 'greenlight-rehearsal-'));
    cleanup.push(() => rm(tmp, { recursive: true, force: true }));
    const renderedPath = join(tmp, basename(configPath).replace(/\.(ya?ml|json)$/, '') + '.yml');
    let text: string;
    try {
      text = await readFile(configPath, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config ${configPath}: ${errorMessage(err)}`, { cause: err });
    }
    if (scenario.hooks) text = withScenarioHooks(text, scenario.hooks);
    await writeFile(
      renderedPath,
      renderRehearsalConfig(text, configPath, {
        'test-url': listeners.test.href.replace(/\/$/, ''),
        'prod-url': listeners.prod.href.replace(/\/$/, ''),
        'postgres-url': postgres.url,
        'store-host': storeAddress.host,
        'store-port': String(storeAddress.port),
      }),
    );
    let config;
    try {
      config = await loadConfig(renderedPath);
    } catch (err) {
      if (err instanceof ConfigError)
        throw new ConfigError(err.message.split(renderedPath).join(configPath), { cause: err });
      throw err;
    }

    emit({
      kind: 'deployment-started',
      atMs: at(),
      deploymentId,
      scenario: scenario.name,
      summary: scenario.summary,
      deploymentConfig: `${DEPLOYMENT_CONFIG}, a minute lasts ${pace.minuteMs} ms`,
    });
    emit({ kind: 'traffic', atMs: at(), listener: 'prod', weights: lb.weights('prod') });

    const client = codedeploy.client();
    cleanup.push(async () => client.destroy());

    const desk = new RehearsalApprovalDesk();
    /** Invokes a lifecycle event's hook as CodeDeploy does and waits for its report. */
    const runHook = async (hook: LifecycleEvent): Promise<'Succeeded' | 'Failed'> => {
      const planned = config.plan(hook);
      if (planned.length === 0) {
        emit({ kind: 'hook-skipped', atMs: at(), hook });
        return 'Succeeded';
      }
      emit({ kind: 'hook-invoked', atMs: at(), hook, checks: planned.map((p) => p.check.name) });
      let verdictReason = 'the hook logged no verdict';
      const log = createHookLogRecorder((line) => {
        if (line.message === 'check result')
          emit({ kind: 'check', atMs: at(), hook, result: line.attributes.check as CheckResult });
        if (line.message === 'verdict' && typeof line.attributes.reason === 'string')
          verdictReason = line.attributes.reason;
      });
      const handler = createHookHandler(hook, {
        configPath: renderedPath,
        codedeploy: client,
        log,
        // The timeline is the rehearsal's output: the metric lines a Lambda would log stay out of it.
        metrics: false,
        // There is no ECS to read green's tasks from: Install shows their diagnosis instead.
        diagnoseGreen: false,
        // Bake windows and approvals run on deployment minutes, as fast as the rehearsal plays them.
        gate: {
          clock: scaledClock(60_000 / pace.minuteMs, Date.now()),
          approvals: desk,
          announce: async (event) => {
            const approver = scenario.approver;
            if (event.kind !== 'approval-requested' || !approver) return;
            const timer = setTimeout(
              () =>
                desk.decide(event.deploymentId, {
                  decision: 'approved',
                  approver: 'arn:aws:sts::123456789012:assumed-role/ReleaseManagers/rehearsal',
                  reason: 'rehearsal: dashboards look fine',
                  decidedAt: Date.now(),
                }),
              approver.approvesAfterMinutes * pace.minuteMs,
            );
            cleanup.push(async () => clearTimeout(timer));
          },
        },
      });
      const execution = codedeploy.openExecution(deploymentId, hook);
      const lambdaDeadline = Date.now() + pace.hookTimeoutMs;
      const invocation = handler(
        { DeploymentId: deploymentId, LifecycleEventHookExecutionId: execution.executionId },
        {
          getRemainingTimeInMillis: () => Math.max(0, lambdaDeadline - Date.now()),
          awsRequestId: `rehearsal-${hook}`,
        },
      ).catch((err: unknown) => {
        verdictReason = `the hook failed: ${errorMessage(err)}`;
      });
      // The stand-in's report never rejects: a rejection here is the wait running out.
      const report = await withinDeadline(execution.reported, { timeoutMs: pace.reportWaitMs }).catch(
        () => undefined,
      );
      await withinDeadline(invocation, { timeoutMs: 1_000 }).catch(() => {});
      if (!report) {
        const why = `no report within ${pace.reportWaitMs} ms (CodeDeploy waits an hour): ${verdictReason}`;
        emit({
          kind: 'hook-reported',
          atMs: at(),
          hook,
          status: 'Failed',
          reason: why,
          reportedBy: 'timed out',
        });
        reason = why;
        return 'Failed';
      }
      emit({
        kind: 'hook-reported',
        atMs: at(),
        hook,
        status: report.status,
        reason: verdictReason,
        reportedBy: 'PutLifecycleEventHookExecutionStatus',
      });
      if (report.status === 'Failed') reason = verdictReason;
      return report.status;
    };

    const rollback = async (where: string) => {
      rolledBackAt = where;
      lb.setWeights('prod', { blue: 100, green: 0 });
      lb.setWeights('test', { blue: 100, green: 0 });
      lb.setTarget('green', undefined);
      await green?.stop();
      green = undefined;
      emit({ kind: 'rollback', atMs: at(), hook: where, reason: reason ?? 'unknown' });
      emit({ kind: 'traffic', atMs: at(), listener: 'prod', weights: lb.weights('prod') });
      emit({
        kind: 'deployment-ended',
        atMs: at(),
        status: 'Stopped',
        message: `rolled back at ${where}; production stays on blue (v1), green's task set was stopped`,
      });
    };

    const hooked = new Set(HOOKED_EVENTS);
    const hook = async (event: LifecycleEvent) => (hooked.has(event) ? runHook(event) : 'Succeeded');

    if ((await hook('BeforeInstall')) === 'Failed') return await finish(rollback('BeforeInstall'));

    // Install: green's task set starts (running its migrations) and must pass its health check.
    emit({
      kind: 'step',
      atMs: at(),
      step: 'Install',
      message: `starting green (${scenario.green.version}) task set; it runs its migrations`,
    });
    const install = await installGreen(scenario.green, { db: postgres.db, redis, signing }, pace, (message) =>
      emit({ kind: 'step', atMs: at(), step: 'Install', message }),
    );
    green = install.app;
    if (green) lb.setTarget('green', green.url);
    const healthyAfter = install.healthyAfterMs;
    if (healthyAfter === undefined) {
      reason = install.reason ?? 'green did not pass its health check';
      emit({ kind: 'step', atMs: at(), step: 'Install', message: reason });
      if (install.diagnosis && install.diagnosisLine)
        emit({ kind: 'diagnosis', atMs: at(), cause: install.diagnosis.cause, line: install.diagnosisLine });
      return await finish(rollback('Install'));
    }
    emit({
      kind: 'step',
      atMs: at(),
      step: 'Install',
      message: `green healthy: GET /health answered 200 ${pace.healthyThreshold} times in a row (${(healthyAfter / 1_000).toFixed(1)} s after start)`,
    });

    if ((await hook('AfterInstall')) === 'Failed') return await finish(rollback('AfterInstall'));

    lb.setWeights('test', { blue: 0, green: 100 });
    emit({
      kind: 'step',
      atMs: at(),
      step: 'AllowTestTraffic',
      message: 'the test listener now forwards to green',
    });
    emit({ kind: 'traffic', atMs: at(), listener: 'test', weights: lb.weights('test') });

    if ((await hook('AfterAllowTestTraffic')) === 'Failed')
      return await finish(rollback('AfterAllowTestTraffic'));
    if ((await hook('BeforeAllowTraffic')) === 'Failed') return await finish(rollback('BeforeAllowTraffic'));

    emit({
      kind: 'step',
      atMs: at(),
      step: 'AllowTraffic',
      message: `shifting production ${LINEAR_STEP_PERCENT}% every minute`,
    });
    for (let share = LINEAR_STEP_PERCENT; share <= 100; share += LINEAR_STEP_PERCENT) {
      lb.setWeights('prod', { blue: 100 - share, green: share });
      lb.takeServed('prod');
      await Promise.all(
        Array.from({ length: SAMPLE_REQUESTS_PER_STEP }, async () => {
          const res = await httpCall(new URL('/health', listeners.prod)).catch(() => undefined);
          await res?.arrayBuffer();
        }),
      );
      emit({
        kind: 'traffic',
        atMs: at(),
        listener: 'prod',
        weights: lb.weights('prod'),
        served: lb.takeServed('prod'),
      });
      if (share < 100) await sleep(pace.minuteMs);
    }

    const burst = scenario.green.errorBurstAfterFullTraffic;
    if (burst) green?.armErrorBurst(burst.afterRequests);
    if ((await hook('AfterAllowTraffic')) === 'Failed') return await finish(rollback('AfterAllowTraffic'));

    lb.setTarget('blue', undefined);
    status = 'Succeeded';
    emit({
      kind: 'deployment-ended',
      atMs: at(),
      status: 'Succeeded',
      message: `production serves green (${scenario.green.version}) at 100%; blue's task set was terminated`,
    });
    return await finish(Promise.resolve());
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    await green?.stop().catch(() => {});
  }

  async function finish(done: Promise<void>): Promise<RehearsalResult> {
    await done;
    const result: RehearsalResult = {
      scenario: scenario.name,
      deploymentId,
      status,
      weights: { prod: lb.weights('prod'), test: lb.weights('test') },
      events,
      durationMs: clock.ms,
    };
    if (rolledBackAt) result.rolledBackAt = rolledBackAt;
    if (reason && status !== 'Succeeded') result.reason = reason;
    return result;
  }
}

/**
 * The config text with the scenario's own check lists for the events it names. A config that
 * lacks a check the scenario lists (a user's own, with --config) keeps its own lists.
 */
function withScenarioHooks(text: string, hooks: NonNullable<Scenario['hooks']>): string {
  const doc = parseDocument(text);
  for (const [event, names] of Object.entries(hooks)) {
    if (names.every((name) => doc.hasIn(['checks', name])))
      doc.setIn(['hooks', event], doc.createNode(names, { flow: true }));
  }
  return String(doc);
}
