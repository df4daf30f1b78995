import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { median, type Bench } from './harness';

const REPO = join(__dirname, '..', '..');
const RUNS = 9;
const MAX_LOAD_RATIO = 1.5;

/** Milliseconds to require `file` in a fresh Node process: what a Lambda cold start pays for it. */
function loadMs(file: string): number {
  const script = `const t=performance.now();require(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}

/**
 * The cost of bundling the AWS SDK into each hook (as serverless.yml does) instead of loading the
 * Lambda runtime's copy: cold load of the ECS hook bundle with the SDK inside, against the same
 * bundle loading the SDK and Powertools from node_modules, alternated in the same run.
 */
export const sdkBundlingBench: Bench = {
  id: 'sdk-bundling',
  title: 'ECS hook: AWS SDK bundled vs loaded from node_modules',
  async run() {
    // Inside the repository, so that the external variant resolves node_modules.
    const dir = join(REPO, '.greenlight-tmp', 'sdk-bundling');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const common = {
      entryPoints: [join(REPO, 'handlers', 'ecs-lifecycle-hook.ts')],
      bundle: true,
      minify: true,
      platform: 'node' as const,
      target: 'node22',
      format: 'cjs' as const,
      logLevel: 'error' as const,
    };
    const bundled = join(dir, 'bundled.js');
    const external = join(dir, 'external.js');
    try {
      await build({ ...common, outfile: bundled, external: ['pg-native'] });
      await build({
        ...common,
        outfile: external,
        external: ['pg-native', '@aws-sdk/*', '@smithy/*', '@aws-lambda-powertools/*'],
      });
      const bundledRuns: number[] = [];
      const externalRuns: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        bundledRuns.push(loadMs(bundled));
        externalRuns.push(loadMs(external));
      }
      const bundledMs = median(bundledRuns);
      const externalMs = median(externalRuns);
      return [
        {
          name: 'cold load, SDK bundled',
          value: bundledMs,
          unit: 'ms',
          baseline: { name: 'SDK from node_modules', value: externalMs, unit: 'ms' },
          target: `≤ ${MAX_LOAD_RATIO}× baseline`,
          ok: bundledMs <= MAX_LOAD_RATIO * externalMs,
          note: `${(bundledMs / externalMs).toFixed(2)}×; bundle ${(statSync(bundled).size / 1e6).toFixed(2)} MB vs ${(statSync(external).size / 1e6).toFixed(2)} MB`,
        },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
