import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { parse as parseYaml } from 'yaml';
import type { Bench, BenchFigure } from './harness';
import { median } from './harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { greenlightBundle } = require('../../deploy/esbuild-plugins.js') as {
  greenlightBundle: (options: { configPath: string }) => Plugin;
};

const ROOT = join(__dirname, '..', '..');
const RUNS = 15;
const MAX_ZIPPED_KB = 400;
const MAX_LOAD_RATIO = 1.3;

type EsbuildSettings = Record<string, unknown> & { exclude?: string[]; plugins?: string };

/** serverless.yml's `custom.esbuild`, as serverless-esbuild passes it to esbuild. */
function deploymentSettings(): BuildOptions {
  const doc = parseYaml(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as {
    custom: { esbuild: EsbuildSettings };
  };
  const { exclude = [], plugins: _plugins, packager: _packager, ...esbuild } = doc.custom.esbuild;
  return { ...(esbuild as BuildOptions), external: exclude };
}

/** Bundled as `serverless package` bundles them, for the config it packages (greenlight.yml). */
async function bundle(entry: string, outfile: string): Promise<void> {
  await build({
    ...deploymentSettings(),
    entryPoints: [join(ROOT, entry)],
    outfile,
    logLevel: 'error',
    plugins: [greenlightBundle({ configPath: join(ROOT, 'greenlight.yml') })],
  });
}

const PROBE = `
const t0 = performance.now();
const mod = require(process.argv[1]);
const loaded = performance.now() - t0;
let withConfig = loaded;
if (process.argv[2]) {
  const event = { DeploymentId: 'd-BENCH0001', LifecycleEventHookExecutionId: 'bench' };
  // Invoke against a config whose hook has no checks and an endpoint that refuses at once:
  // what is timed is loading and validating the config, not the network.
  mod.handler(event, { getRemainingTimeInMillis: () => 60000 }).catch(() => {}).finally(() => {
    process.stdout.write(JSON.stringify({ loaded, firstInvocation: performance.now() - t0 }));
  });
} else {
  process.stdout.write(JSON.stringify({ loaded, firstInvocation: withConfig }));
}`;

function probe(
  file: string,
  invoke: boolean,
  env: NodeJS.ProcessEnv,
): { loaded: number; firstInvocation: number } {
  const out = execFileSync(process.execPath, ['-e', PROBE, file, invoke ? '1' : ''], {
    env,
    encoding: 'utf8',
  });
  return JSON.parse(out) as { loaded: number; firstInvocation: number };
}

/** Zipped size of each handler bundle and its cold module-load time, against a hook that only reports. */
export const bundleBench: Bench = {
  id: 'bundle',
  title: 'handler bundles: zipped size and cold module-load time',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-bundle-'));
    // The SDK clients are not bundled: like the Lambda runtime, a node_modules above provides them.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    try {
      const config = join(dir, 'greenlight.yml');
      writeFileSync(config, 'targets: { test: "http://127.0.0.1:9" }\nchecks: {}\nhooks: {}\n');
      const env = {
        ...process.env,
        GREENLIGHT_CONFIG: config,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_ENDPOINT_URL_CODEDEPLOY: 'http://127.0.0.1:9',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      };
      const baselineFile = join(dir, 'minimal-hook.js');
      await bundle('bench/minimal-hook.ts', baselineFile);
      const handlers = readdirSync(join(ROOT, 'handlers')).filter(
        (f) => f.endsWith('.ts') && !f.endsWith('.d.ts'),
      );
      const figures: BenchFigure[] = [];
      const baselineZipped = deflateRawSync(readFileSync(baselineFile), { level: 9 }).length / 1024;
      for (const handler of handlers) {
        const file = join(dir, handler.replace(/\.ts$/, '.js'));
        await bundle(join('handlers', handler), file);
        const zippedKb = deflateRawSync(readFileSync(file), { level: 9 }).length / 1024;
        const loads: number[] = [];
        const firsts: number[] = [];
        const baseLoads: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          // Alternate, so that drift in the machine's load hits both alike.
          baseLoads.push(probe(baselineFile, false, env).loaded);
          const p = probe(file, handler !== 'ecs-lifecycle-hook.ts', env);
          loads.push(p.loaded);
          firsts.push(p.firstInvocation);
        }
        const name = handler.replace(/\.ts$/, '');
        const load = median(loads);
        const baseLoad = median(baseLoads);
        figures.push({
          name: `${name}: zipped size`,
          value: zippedKb,
          unit: 'KB',
          baseline: { name: 'report-only hook', value: baselineZipped, unit: 'KB' },
          target: `≤ ${MAX_ZIPPED_KB} KB`,
          ok: zippedKb <= MAX_ZIPPED_KB,
        });
        figures.push({
          name: `${name}: cold module load`,
          value: load,
          unit: 'ms',
          baseline: { name: 'report-only hook', value: baseLoad, unit: 'ms' },
          target: `≤ ${MAX_LOAD_RATIO}× baseline`,
          ok: load <= MAX_LOAD_RATIO * baseLoad,
          note: `${(load / baseLoad).toFixed(2)}×; load + first config read: ${median(firsts).toFixed(0)} ms`,
        });
      }
      return figures;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
