import { startEmbeddedPostgres } from '../rehearsal/embedded-postgres';
import { rehearseScenario } from '../rehearsal/rehearsal';
import { openRehearsalWorld } from '../rehearsal/rehearsal-world';
import { SCENARIOS } from '../rehearsal/scenarios';
import type { Bench } from './harness';

const REHEARSAL_TARGET_MS = 30_000;

/**
 * The rehearsal's two costs: starting the embedded PostgreSQL (from the cached data directory,
 * against a fresh initdb measured in the same run) and playing all five scenarios end to end.
 */
export const rehearsalBench: Bench = {
  id: 'rehearsal',
  title: 'greenlight rehearse: embedded PostgreSQL start and all scenarios',
  async run() {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    let t0 = performance.now();
    const fresh = await startEmbeddedPostgres({ cacheFile: false });
    const freshMs = performance.now() - t0;
    await fresh.stop();

    const started = performance.now();
    const world = await openRehearsalWorld(); // writes the cache on its first run, then reads it
    const worldMs = performance.now() - started;
    try {
      for (const scenario of SCENARIOS) await rehearseScenario(world, scenario);
    } finally {
      await world.close();
    }
    const totalMs = performance.now() - started;
    t0 = performance.now();
    const cached = await startEmbeddedPostgres();
    const cachedMs = performance.now() - t0;
    await cached.stop();
    return [
      {
        name: 'embedded PostgreSQL start (cached data directory)',
        value: cachedMs,
        unit: 'ms',
        baseline: { name: 'fresh initdb', value: freshMs, unit: 'ms' },
        target: '≤ 0.6× baseline',
        ok: cachedMs <= 0.6 * freshMs,
      },
      {
        name: `all ${SCENARIOS.length} scenarios, world start included`,
        value: totalMs / 1_000,
        unit: 's',
        baseline: { name: 'world start alone', value: worldMs / 1_000, unit: 's' },
        target: `≤ ${REHEARSAL_TARGET_MS / 1_000} s`,
        ok: totalMs <= REHEARSAL_TARGET_MS,
      },
    ];
  },
};
