// Runs rehearsal scenarios in a plain Node process and prints their results as one JSON line.
// PGlite loads its Node parts with dynamic import(), which Jest's module sandbox does not allow,
// so the scenario tests bundle this file and run it the way the CLI runs.
import { rehearseScenario, type RehearsalResult } from '../../rehearsal/rehearsal';
import { openRehearsalWorld } from '../../rehearsal/rehearsal-world';
import { findScenario } from '../../rehearsal/scenarios';

interface Job {
  scenario: string;
  configPath?: string;
  /** One deployment minute in real ms (default 10): windows and approvals need room to measure. */
  minuteMs?: number;
}

async function main(): Promise<void> {
  const jobs = JSON.parse(process.argv[2] ?? '[]') as Job[];
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const world = await openRehearsalWorld();
  const results: Array<RehearsalResult | { error: string }> = [];
  try {
    for (const job of jobs) {
      try {
        results.push(
          await rehearseScenario(world, findScenario(job.scenario)!, {
            pace: { minuteMs: job.minuteMs ?? 10, healthIntervalMs: 100 },
            ...(job.configPath ? { configPath: job.configPath } : {}),
          }),
        );
      } catch (err) {
        results.push({ error: (err as Error).message });
      }
    }
  } finally {
    await world.close();
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
