// How fast a rehearsal plays a deployment: deployment minutes, hook timeouts, green's health check.

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
