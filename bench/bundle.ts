import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import {
  invoke,
  packageStack,
  unpack,
  type PackagedFunction,
  type PackagedStack,
} from '../test/artifact/artifact-kit';
import { codeDeployServer } from '../test/support/aws-json-server';
import type { Bench, BenchFigure } from './harness';
import { median, REPO_ROOT, serverlessYml } from './harness';
import { runtimeNodeMajor } from './runtime-node';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { greenlightBundle } = require(join(REPO_ROOT, 'deploy', 'esbuild-plugins.js')) as {
  greenlightBundle: (options: { configPath: string }) => Plugin;
};

const RUNS = 11;
const MAX_ZIP_KB = 600;
const MAX_LOAD_RATIO = 1.3;
const MAX_REPORT_RATIO = 1.5;
const INVOKE_TIMEOUT_S = 60;

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
 * Bundled with the esbuild settings and plugins `serverless package` uses, for the config at
 * `configPath`: the handler file and its chunks in `outdir`, with the package.json that makes them
 * ES modules. For code that is not one of the stack's functions (the benchmark's baseline hook).
 */
async function bundleAsDeployed(
  entry: string,
  outdir: string,
  configPath: string,
): Promise<{ handler: string; files: string[] }> {
  const result = await build({
    ...deploymentSettings(),
    entryPoints: [join(REPO_ROOT, entry)],
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

/** One http check on every CodeDeploy event and ECS stage: the hook the cold start is timed for. */
function oneCheckConfig(targetUrl: string): string {
  return `targets:
  test: ${targetUrl}
checks:
  smoke:
    type: http
    requests: [{ path: /health, expect: { status: 200 } }]
hooks:
  BeforeInstall: [smoke]
  AfterInstall: [smoke]
  AfterAllowTestTraffic: [smoke]
  BeforeAllowTraffic: [smoke]
  AfterAllowTraffic: [smoke]
  POST_TEST_TRAFFIC_SHIFT: [smoke]
`;
}

/**
 * Every check type but `migration-rehearsal` (its PGlite makes that one zip ~11 MB, by design), `auto`
 * targets and both secret providers: the most an ordinary hook zip carries.
 */
const EVERY_FEATURE_CONFIG = `targets:
  test: auto
  prod: auto
checks:
  smoke:
    type: http
    requests:
      - path: /health
        headers: { authorization: "Bearer \${ssm:/web/smoke-token}" }
        expect: { status: 200 }
  pg:
    type: schema
    url: postgres://app@db.internal:5432/app
    password: "\${secretsmanager:prod/web/db#password}"
    contracts: { green: { inline: { engine: postgres, schemas: [public], reads: { users: [id, email] } } } }
  mysql:
    type: schema
    url: mysql://app@db.internal:3306/app
    contracts: { green: { inline: { engine: mysql, schemas: [app], reads: { users: [id, email] } } } }
  redis-sessions:
    type: session
    store: { engine: redis, host: cache.internal, port: 6379 }
    contracts: { blue: { target: prod }, green: { target: test } }
  memcached-sessions:
    type: session
    store: { engine: memcached, host: cache.internal, port: 11211 }
    contracts: { blue: { target: prod }, green: { target: test } }
  alarms:
    type: alarms
    names: [web-5xx]
  errors:
    type: metrics
    queries:
      - id: errors
        metric: { namespace: Web, name: Errors }
        stat: Sum
    condition: { aggregate: max, atMost: 5 }
  green-vs-blue:
    type: target-groups
    discover: true
    compare: [errorRate]
hooks:
  BeforeInstall: [pg, mysql]
  AfterInstall: [smoke]
  AfterAllowTestTraffic: [smoke, redis-sessions, memcached-sessions, green-vs-blue]
  BeforeAllowTraffic: [alarms, errors]
  AfterAllowTraffic: [smoke]
  POST_TEST_TRAFFIC_SHIFT: [smoke]
  PRODUCTION_TRAFFIC_SHIFT: [alarms]
`;

const kb = (fn: PackagedFunction): number => statSync(fn.zip).size / 1024;

/** Each function's zip with the SDK bundled, its size with `awsSdk: runtime` beside it. */
function zipFigures(label: string, bundled: PackagedStack, runtime: PackagedStack): BenchFigure[] {
  return [...bundled.functions.values()].map((fn) => {
    const size = kb(fn);
    const without = runtime.functions.get(fn.key);
    if (!without) throw new Error(`bundle bench: ${fn.key} is not in the awsSdk=runtime package`);
    return {
      name: `${fn.key}: zip, ${label}`,
      value: size,
      unit: 'KB',
      baseline: { name: 'the same with awsSdk: runtime', value: kb(without), unit: 'KB' },
      target: `≤ ${MAX_ZIP_KB} KB`,
      ok: size <= MAX_ZIP_KB,
      note: `${basename(fn.zip)} as serverless package writes it, AWS SDK clients bundled`,
    };
  });
}

/**
 * The zips as `serverless package` ships them: their size, with the AWS SDK bundled and without
 * it; then, unzipped outside the project and run on the runtime's Node line as the Lambda runtime
 * runs them (test/artifact's kit), each function's cold module load and each CodeDeploy hook's cold
 * start to its report (a fresh process per run, from its start until the report reaches a local
 * CodeDeploy), against a hook that only reports, bundled the same way with the same CodeDeploy
 * client and run the same way, alternating with it.
 */
export const bundleBench: Bench = {
  id: 'bundle',
  title: 'packaged zips: size, cold module load and cold start to report, on the runtime’s Node line',
  async run() {
    const reportedAt = new Map<string, number>();
    const codedeploy = codeDeployServer().on('PutLifecycleEventHookExecutionStatus', (call) => {
      reportedAt.set(String(call.body.lifecycleEventHookExecutionId), performance.now());
      return { body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId } };
    });
    // Green, for the one check: answers its health check at once.
    const green = createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end('ok'));
    const stacks: PackagedStack[] = [];
    const scratch = mkdtempSync(join(tmpdir(), 'greenlight-bundle-'));
    try {
      const endpoint = await codedeploy.start();
      await new Promise<void>((done) => green.listen(0, '127.0.0.1', done));
      const greenUrl = `http://127.0.0.1:${(green.address() as AddressInfo).port}`;
      const config = oneCheckConfig(greenUrl);
      const pack = async (yml: string, params: string[] = []) => {
        const stack = await packageStack(yml, params);
        stacks.push(stack);
        return stack;
      };
      const oneCheck = await pack(config);
      const figures = [
        ...zipFigures('one http check', oneCheck, await pack(config, ['awsSdk=runtime'])),
        ...zipFigures(
          'every check type, auto targets, secrets',
          await pack(EVERY_FEATURE_CONFIG),
          await pack(EVERY_FEATURE_CONFIG, ['awsSdk=runtime']),
        ),
      ];

      const configPath = join(scratch, 'greenlight.yml');
      writeFileSync(configPath, config);
      const baselineRoot = join(scratch, 'report-only');
      await bundleAsDeployed(join('bench', 'minimal-hook.ts'), join(baselineRoot, 'handlers'), configPath);
      const sample = oneCheck.functions.get('afterAllowTestTraffic')!;
      const reportOnly: PackagedFunction = {
        ...sample,
        key: 'reportOnly',
        name: 'report-only-hook',
        handler: 'handlers/minimal-hook.handler',
        environment: {},
        zip: '',
      };

      let runs = 0;
      /** One cold start in a fresh process: its module load, and its report's arrival if it reports. */
      const coldStart = async (fn: PackagedFunction, taskRoot: string, reports: boolean) => {
        const executionId = `bench-${fn.key}-${runs++}`;
        const event = { DeploymentId: 'd-BENCH0001', LifecycleEventHookExecutionId: executionId };
        const started = performance.now();
        const result = await invoke(fn, reports ? [event] : [], {
          taskRoot,
          timeoutS: INVOKE_TIMEOUT_S,
          env: { AWS_ENDPOINT_URL_CODEDEPLOY: endpoint },
        });
        const reported = reportedAt.get(executionId);
        const record = result.records[0];
        if (result.initDurationMs === undefined || (reports && (reported === undefined || !record)))
          throw new Error(
            `bundle bench: ${fn.key} did not ${reports ? 'report' : 'load'}: ${JSON.stringify(result.records)}\n${result.stderr}`,
          );
        if (record && 'result' in record && record.result !== null) {
          const outcome = record.result as { status?: string; delivery?: string; reason?: string };
          if (outcome.status !== 'Succeeded' || outcome.delivery !== 'reported')
            throw new Error(
              `bundle bench: ${fn.key} ${outcome.status} (${outcome.delivery}): ${outcome.reason}`,
            );
        }
        return {
          loadMs: result.initDurationMs,
          reportMs: reported === undefined ? undefined : reported - started,
          node: result.node.version,
        };
      };

      for (const fn of oneCheck.functions.values()) {
        const taskRoot = unpack(fn);
        try {
          // The ECS hook answers ECS rather than reporting to CodeDeploy: only its load is timed.
          const reports = fn.key !== 'ecsLifecycleHook';
          const before = codedeploy.callsOf('PutLifecycleEventHookExecutionStatus').length;
          // One run each first (the node binary and the files come into the page cache), then
          // alternately, so that drift in the machine's load hits both alike.
          await coldStart(reportOnly, baselineRoot, reports);
          await coldStart(fn, taskRoot, reports);
          const hook: Awaited<ReturnType<typeof coldStart>>[] = [];
          const base: Awaited<ReturnType<typeof coldStart>>[] = [];
          for (let i = 0; i < RUNS; i++) {
            base.push(await coldStart(reportOnly, baselineRoot, reports));
            hook.push(await coldStart(fn, taskRoot, reports));
          }
          const sent = codedeploy.callsOf('PutLifecycleEventHookExecutionStatus').length - before;
          if (sent !== (reports ? 2 * (RUNS + 1) : 0))
            throw new Error(`bundle bench: ${fn.key} runs sent ${sent} reports to CodeDeploy`);
          const on = `Node ${hook[0]!.node}, median of ${RUNS} fresh processes alternating with the baseline`;
          const load = median(hook.map((r) => r.loadMs));
          const baseLoad = median(base.map((r) => r.loadMs));
          figures.push({
            name: `${fn.key}: cold module load`,
            value: load,
            unit: 'ms',
            baseline: { name: 'report-only hook', value: baseLoad, unit: 'ms' },
            target: `≤ ${MAX_LOAD_RATIO}× baseline`,
            ok: load <= MAX_LOAD_RATIO * baseLoad,
            note: `${(load / baseLoad).toFixed(2)}×; the handler's module resolved and imported from the unzipped zip; ${on}`,
          });
          if (!reports) continue;
          const report = median(hook.map((r) => r.reportMs!));
          const baseReport = median(base.map((r) => r.reportMs!));
          figures.push({
            name: `${fn.key}: cold start to report, one http check`,
            value: report,
            unit: 'ms',
            baseline: { name: 'report-only hook', value: baseReport, unit: 'ms' },
            target: `≤ ${MAX_REPORT_RATIO}× baseline`,
            ok: report <= MAX_REPORT_RATIO * baseReport,
            note:
              `${(report / baseReport).toFixed(2)}×; from spawning the runtime's process to Succeeded ` +
              `reaching a local CodeDeploy: node start, module load, config loaded and validated, ` +
              `GET /health on a loopback server; ${on}`,
          });
        } finally {
          rmSync(taskRoot, { recursive: true, force: true });
        }
      }
      const load = `load average ${loadavg()[0]!.toFixed(1)}`;
      return figures.map((f) => ({ ...f, note: f.note ? `${f.note}; ${load}` : load }));
    } finally {
      for (const stack of stacks) stack.remove();
      rmSync(scratch, { recursive: true, force: true });
      green.closeAllConnections();
      await new Promise<void>((done) => green.close(() => done()));
      await codedeploy.stop();
    }
  },
};
