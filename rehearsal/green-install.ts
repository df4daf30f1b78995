import { diagnose, diagnosisLine, type Diagnosis } from '../checks/diagnosis/diagnose';
import { emptyEvidence, type StoppedTask, type TargetView } from '../checks/diagnosis/evidence';
import { errorMessage } from '../lib/errors';
import { AppExitedError, startSampleApp, type AppVersionSpec, type SampleApp } from './sample-app';

/** How Install paces green's start: the target group's health check. */
export interface InstallPace {
  healthIntervalMs: number;
  healthyThreshold: number;
  installTimeoutMs: number;
}

/** ECS starts a task again after its essential container exits; the rehearsal gives up after this many. */
export const MAX_TASK_STARTS = 3;
/** The target group of the rehearsal's green, as ELBv2 names one. */
export const GREEN_TARGET_GROUP =
  'arn:aws:elasticloadbalancing:local:000000000000:targetgroup/rehearsal-green/0000000000000002';
const HEALTH_PATH = '/health';
/**
 * Consecutive 404s after which Install stops waiting: a route the app does not have does not
 * appear with time, unlike the 503 of an app still starting.
 */
const NOT_FOUND_THRESHOLD = 5;
const PROBE_TIMEOUT_MS = 2_000;

export interface GreenInstall {
  app?: SampleApp;
  /** ms from the first start until the health check passed; undefined when it never did. */
  healthyAfterMs?: number;
  /** Why Install failed, in one sentence. */
  reason?: string;
  /** The same diagnosis `greenlight watch` prints, from green's stopped tasks and target health. */
  diagnosis?: Diagnosis;
  diagnosisLine?: string;
}

const taskArn = (n: number) => `arn:aws:ecs:local:000000000000:task/rehearsal/green-${n}`;

/** One health check probe, as ELBv2 reports its result. */
async function probe(url: URL): Promise<Pick<TargetView, 'state' | 'reason' | 'description'>> {
  try {
    const res = await fetch(new URL(HEALTH_PATH, url), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.arrayBuffer().catch(() => undefined);
    if (res.status === 200) return { state: 'healthy' };
    return {
      state: 'unhealthy',
      reason: 'Target.ResponseCodeMismatch',
      description: `Health checks failed with these codes: [${res.status}]`,
    };
  } catch (err) {
    return (err as Error).name === 'TimeoutError'
      ? { state: 'unhealthy', reason: 'Target.Timeout', description: 'Request timed out' }
      : { state: 'unhealthy', reason: 'Target.FailedHealthChecks', description: 'Health checks failed' };
  }
}

function notFoundReason(target: TargetView | undefined, timeoutMs: number): string {
  return target?.description?.endsWith('[404]')
    ? `green answered 404 on its health check (GET ${HEALTH_PATH}) ${NOT_FOUND_THRESHOLD} times in a row`
    : `green did not pass its health check (GET ${HEALTH_PATH}) within ${timeoutMs} ms`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Install as ECS and the target group play it: green's task starts (and is started again, up to
 * MAX_TASK_STARTS, when its essential container exits), then GET /health must answer 200
 * `healthyThreshold` times in a row. When it never does, the stopped tasks and the last target
 * health go through the same diagnosis as `greenlight watch`.
 */
export async function installGreen(
  spec: AppVersionSpec,
  deps: Parameters<typeof startSampleApp>[1],
  pace: InstallPace,
  say: (message: string) => void,
): Promise<GreenInstall> {
  const started = performance.now();
  const stoppedTasks: StoppedTask[] = [];
  let app: SampleApp | undefined;
  for (let n = 1; !app && n <= MAX_TASK_STARTS; n++) {
    try {
      app = await startSampleApp(spec, deps);
    } catch (err) {
      if (!(err instanceof AppExitedError)) throw err;
      const task: StoppedTask = {
        taskArn: taskArn(n),
        stoppedReason: 'Essential container in task exited',
        stopCode: 'EssentialContainerExited',
        stoppedAt: Date.now(),
        containers: [{ name: 'web', exitCode: err.exitCode }],
      };
      stoppedTasks.unshift(task);
      say(
        `task green-${n} stopped: Essential container in task exited; web exit ${err.exitCode} (${errorMessage(err)})`,
      );
      if (n < MAX_TASK_STARTS) await sleep(pace.healthIntervalMs);
    }
  }

  let target: TargetView | undefined;
  if (app) {
    let streak = 0;
    let notFound = 0;
    while (performance.now() - started < pace.installTimeoutMs && notFound < NOT_FOUND_THRESHOLD) {
      const seen = await probe(app.url);
      target = {
        targetGroupArn: GREEN_TARGET_GROUP,
        id: app.url.hostname,
        port: Number(app.url.port),
        ...seen,
      };
      streak = seen.state === 'healthy' ? streak + 1 : 0;
      notFound = seen.description?.endsWith('[404]') ? notFound + 1 : 0;
      if (streak >= pace.healthyThreshold)
        return { app, healthyAfterMs: Math.round(performance.now() - started) };
      await sleep(pace.healthIntervalMs);
    }
  }

  const evidence = emptyEvidence('codedeploy');
  evidence.stoppedTasks = stoppedTasks;
  evidence.targets = target ? [target] : [];
  evidence.replacementTargetGroupArns = [GREEN_TARGET_GROUP];
  const diagnosis = diagnose(evidence, 'failed');
  const reason = app
    ? notFoundReason(target, pace.installTimeoutMs)
    : `green's task stopped at start ${MAX_TASK_STARTS} times in a row`;
  return {
    ...(app ? { app } : {}),
    reason,
    ...(diagnosis ? { diagnosis, diagnosisLine: diagnosisLine(diagnosis) } : {}),
  };
}
