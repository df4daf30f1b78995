import { runChecks, type PlannedCheck } from '../checks/runner';
import { silentLogger } from '../lib/log';
import type { Bench } from './harness';
import { median } from './harness';

const CHECKS = 1_000;
const ROUNDS = 15;

function noopChecks(count: number): PlannedCheck[] {
  return Array.from({ length: count }, (_, i) => ({
    check: {
      name: `noop-${i}`,
      type: 'noop',
      run: async () => ({ outcome: 'passed' as const, message: 'ok' }),
    },
  }));
}

/** The runner's own cost per check: 1,000 no-op checks, against awaiting the same checks bare. */
export const runnerBench: Bench = {
  id: 'runner',
  title: `runner overhead with ${CHECKS} no-op checks`,
  async run() {
    const planned = noopChecks(CHECKS);
    const targets = { test: new URL('http://127.0.0.1:8080') };
    const runnerTimes: number[] = [];
    const bareTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let t0 = performance.now();
      await Promise.all(planned.map((p) => p.check.run({} as never)));
      bareTimes.push(performance.now() - t0);
      t0 = performance.now();
      const verdict = await runChecks(planned, {
        deadline: Date.now() + 60_000,
        targets,
        deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
        log: silentLogger,
        concurrency: 8,
      });
      runnerTimes.push(performance.now() - t0);
      if (verdict.status !== 'Succeeded')
        throw new Error(`runner bench: unexpected verdict ${verdict.reason}`);
    }
    const perCheck = median(runnerTimes) / CHECKS;
    const barePerCheck = median(bareTimes) / CHECKS;
    return [
      {
        name: 'overhead per check',
        value: perCheck,
        unit: 'ms',
        baseline: { name: 'bare await of the same checks', value: barePerCheck, unit: 'ms' },
        target: '≤ 0.1 ms',
        ok: perCheck <= 0.1,
      },
    ];
  },
};
