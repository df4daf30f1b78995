import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { codeDeployServer } from '../test/support/aws-json-server';
import type { Bench, BenchFigure } from './harness';
import { median, serverlessYml } from './harness';
import { runtimeNodeMajor } from './runtime-node';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { greenlightBundle } = require('../../deploy/esbuild-plugins.js') as {
  greenlightBundle: (options: { configPath: string }) => Plugin;
};

const ROOT = join(__dirname, '..', '..');
const RUNS = 15;
const MAX_ZIPPED_KB = 400;
const MAX_LOAD_RATIO = 1.3;

type EsbuildSettings = Record<string, unknown> & {
  exclude?: string[];
  plugins?: string;
  outputFileExtension?: string;
};

/** serverless.yml's `custom.esbuild`, as serverless-esbuild passes it to esbuild. */
function deploymentSettings(): BuildOptions {
  const doc = serverlessYml() as { custom: { esbuild: EsbuildSettings } };
  const {
    exclude = [],
    plugins: _plugins,
    packager: _packager,
    outputFileExtension = '.js',
    ...esbuild
  } = doc.custom.esbuild;
  return {
    // serverless-esbuild's target when none is set: the runtime's Node line.
    target: `node${runtimeNodeMajor()}`,
    ...(esbuild as BuildOptions),
    external: exclude,
    outExtension: { '.js': outputFileExtension },
  };
}

/**
 * Bundled as `serverless package` bundles them, for the config it packages (`configPath`, by
 * default the repository's greenlight.yml): the handler file and the chunks it may import, all in
 * `outdir`. Returns the handler file and every file the function's zip would carry for it.
 */
export async function bundleAsDeployed(
  entry: string,
  outdir: string,
  configPath = join(ROOT, 'greenlight.yml'),
): Promise<{ handler: string; files: string[] }> {
  const result = await build({
    ...deploymentSettings(),
    entryPoints: [join(ROOT, entry)],
    outdir,
    metafile: true,
    logLevel: 'error',
    plugins: [greenlightBundle({ configPath })],
  });
  const files = Object.keys(result.metafile.outputs).map((file) => resolve(file));
  const handler = files.find((file) => !basename(file).includes('.chunk-'));
  if (!handler) throw new Error(`no handler file among ${files.join(', ')}`);
  return { handler, files };
}

/** About what the function's zip holds for its code: each file deflated on its own, as zip does. */
function zippedKb(files: string[]): number {
  return files.reduce((sum, file) => sum + deflateRawSync(readFileSync(file), { level: 9 }).length, 0) / 1024;
}

// An ES module, as the Lambda runtime imports an .mjs handler. With a second argument it also
// invokes the handler once (a config with no checks, a local CodeDeploy that accepts at once):
// the cold start up to the report, including what the handler loads on first use.
const PROBE = `
const t0 = performance.now();
const mod = await import(process.argv[1]);
const loaded = performance.now() - t0;
if (process.argv[2]) {
  const event = { DeploymentId: 'd-BENCH0001', LifecycleEventHookExecutionId: 'bench' };
  const outcome = await mod.handler(event, { getRemainingTimeInMillis: () => 60000 });
  const reported = performance.now() - t0;
  if (outcome && outcome.status !== undefined && outcome.status !== 'Succeeded') {
    throw new Error('the bench hook did not succeed: ' + outcome.reason);
  }
  process.stdout.write(JSON.stringify({ loaded, reported }));
} else {
  process.stdout.write(JSON.stringify({ loaded }));
}`;

const run = promisify(execFile);

async function probe(
  file: string,
  invoke: boolean,
  env: NodeJS.ProcessEnv,
): Promise<{ loaded: number; reported?: number }> {
  const url = pathToFileURL(file).href;
  const { stdout } = await run(
    process.execPath,
    ['--input-type=module', '-e', PROBE, url, invoke ? '1' : ''],
    {
      env,
      encoding: 'utf8',
    },
  );
  return JSON.parse(stdout) as { loaded: number; reported?: number };
}

/** Zipped size of each handler bundle and its cold module-load time, against a hook that only reports. */
export const bundleBench: Bench = {
  id: 'bundle',
  title: 'handler bundles: zipped size and cold module-load time',
  async run() {
    const dir = mkdtempSync(join(tmpdir(), 'greenlight-bundle-'));
    // A local CodeDeploy that accepts every report at once.
    const codedeploy = codeDeployServer().on('PutLifecycleEventHookExecutionStatus', () => ({ body: {} }));
    const endpoint = await codedeploy.start();
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
        AWS_ENDPOINT_URL_CODEDEPLOY: endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
      };
      const baseline = await bundleAsDeployed('bench/minimal-hook.ts', join(dir, 'baseline'));
      const handlers = readdirSync(join(ROOT, 'handlers')).filter(
        (f) => f.endsWith('.ts') && !f.endsWith('.d.ts'),
      );
      const figures: BenchFigure[] = [];
      const baselineZipped = zippedKb(baseline.files);
      for (const handler of handlers) {
        const built = await bundleAsDeployed(join('handlers', handler), join(dir, 'handlers'));
        const file = built.handler;
        const size = zippedKb(built.files);
        const invoke = handler !== 'ecs-lifecycle-hook.ts';
        const reportsBefore = codedeploy.calls.length;
        const loads: number[] = [];
        const baseLoads: number[] = [];
        const reports: number[] = [];
        const baseReports: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          // Alternate, so that drift in the machine's load hits both alike.
          const base = await probe(baseline.handler, invoke, env);
          const hook = await probe(file, invoke, env);
          baseLoads.push(base.loaded);
          loads.push(hook.loaded);
          if (base.reported !== undefined && hook.reported !== undefined) {
            baseReports.push(base.reported);
            reports.push(hook.reported);
          }
        }
        const reportsSent = codedeploy.calls.length - reportsBefore;
        if (reportsSent !== (invoke ? 2 * RUNS : 0)) {
          throw new Error(`bundle bench: ${handler} runs sent ${reportsSent} reports to CodeDeploy`);
        }
        const name = handler.replace(/\.ts$/, '');
        const load = median(loads);
        const baseLoad = median(baseLoads);
        figures.push({
          name: `${name}: zipped size`,
          value: size,
          unit: 'KB',
          baseline: { name: 'report-only hook', value: baselineZipped, unit: 'KB' },
          target: `≤ ${MAX_ZIPPED_KB} KB`,
          ok: size <= MAX_ZIPPED_KB,
          note: `handler and ${built.files.length - 1} chunks`,
        });
        figures.push({
          name: `${name}: cold module load`,
          value: load,
          unit: 'ms',
          baseline: { name: 'report-only hook', value: baseLoad, unit: 'ms' },
          target: `≤ ${MAX_LOAD_RATIO}× baseline`,
          ok: load <= MAX_LOAD_RATIO * baseLoad,
          note: `${(load / baseLoad).toFixed(2)}×`,
        });
        if (reports.length > 0) {
          const reported = median(reports);
          const baseReported = median(baseReports);
          figures.push({
            name: `${name}: cold start to report`,
            value: reported,
            unit: 'ms',
            baseline: { name: 'report-only hook', value: baseReported, unit: 'ms' },
            target: 'recorded',
            ok: true,
            note:
              `${(reported / baseReported).toFixed(2)}×; module load, then one invocation: the config ` +
              `(no checks) and the chunks it needs loaded, validated, Succeeded reported to a local CodeDeploy`,
          });
        }
      }
      return figures;
    } finally {
      await codedeploy.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
