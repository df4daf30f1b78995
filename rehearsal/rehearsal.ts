// Plays one whole rehearsed ECS blue/green deployment of the sample app, hook by hook.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { LifecycleEvent } from '../checks/types';
import { RehearsalApprovalDesk } from './approval-desk';
import type { EmbeddedPostgres } from './embedded-postgres';
import { invokeHook, type HookRun } from './hook-invocation';
import { LocalLoadBalancer, type Color, type ListenerName } from './load-balancer';
import { installGreen } from './green-install';
import { prepareRehearsalConfig, sampleConfigPath } from './rehearsal-config';
import { DEFAULT_PACE, type RehearsalPace } from './rehearsal-pace';
import type { RehearsalWorld } from './rehearsal-world';
import { newSessionSigning, startSampleApp, type SampleApp } from './sample-app';
import { BLUE, type Scenario } from './scenarios';
import { SessionStoreServer } from './session-store-server';
import type { TimelineEvent } from './timeline';

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
    const { renderedPath, config } = await prepareRehearsalConfig(configPath, tmp, scenario.hooks, {
      'test-url': listeners.test.href.replace(/\/$/, ''),
      'prod-url': listeners.prod.href.replace(/\/$/, ''),
      'postgres-url': postgres.url,
      'store-host': storeAddress.host,
      'store-port': String(storeAddress.port),
    });

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
    const hookRun: HookRun = {
      config,
      renderedPath,
      client,
      codedeploy,
      deploymentId,
      scenario,
      pace,
      desk,
      emit,
      at,
      cleanup,
    };
    const runHook = async (hook: LifecycleEvent): Promise<'Succeeded' | 'Failed'> => {
      const outcome = await invokeHook(hook, hookRun);
      if (outcome.status === 'Failed') reason = outcome.reason;
      return outcome.status;
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
