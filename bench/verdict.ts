import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { httpCheckType } from '../checks/http';
import { runChecks, type PlannedCheck, type Verdict } from '../checks/runner';
import type { CheckContext, CheckReport, CheckResult } from '../checks/types';
import { buildConfig, type LoadedConfig } from '../config/config';
import { silentLogger } from '../lib/log';
import { packageStack, unpack } from '../test/artifact/artifact-kit';
import { codeDeployServer } from '../test/support/aws-json-server';
import type { Bench, BenchFigure } from './harness';
import { median, REPO_ROOT } from './harness';
import { nodeAt, runtimeNode, type NodeBinary } from './runtime-node';

const CHECKS = 50;
const PROBE_MS = 50;
const FAILING_MS = 10;
const SLOW_MS = 2_000;
const ROUNDS = 7;
const SEQUENTIAL_ROUNDS = 3;
const MEMORY_CHECKS = 500;
const MEMORY_ROUNDS = 5;
const BODY_BYTES = 1024 * 1024;
const MiB = 1024 * 1024;
const BODY_END = 'END-OF-BODY';
const EVENT = 'AfterAllowTestTraffic';
const CHILD_TIMEOUT_MS = 120_000;

/**
 * A loopback server: `/probe/<n>?delayMs=50&status=200` answers after the delay; `/body/<n>`
 * sends 1 MiB. It counts open requests so a round can wait for cancelled ones to be gone.
 */
async function startServer(): Promise<{ url: string; server: Server; open: () => number }> {
  const body = Buffer.alloc(BODY_BYTES, 'x');
  body.write(BODY_END, BODY_BYTES - BODY_END.length);
  let open = 0;
  const server = createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/body/')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY_BYTES });
      res.end(body);
      return;
    }
    const status = Number(url.searchParams.get('status') ?? 200);
    const timer = setTimeout(
      () => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: status === 200 ? 'ok' : 'down' }));
      },
      Number(url.searchParams.get('delayMs') ?? 0),
    );
    res.on('close', () => clearTimeout(timer));
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    open: () => open,
  };
}

/** Builds `count` http checks through the config loader, each one GET with its own delay and status. */
function configure(
  url: string,
  probes: Array<{ delayMs: number; status: number }>,
  runner: Record<string, unknown> = {},
): LoadedConfig {
  const checks = Object.fromEntries(
    probes.map((probe, i) => [
      `probe-${i}`,
      {
        type: 'http',
        retry: { attempts: 1 },
        requests: [
          {
            path: `/probe/${i}?delayMs=${probe.delayMs}&status=${probe.status}`,
            expect: { status: 200, json: [{ path: 'status', '==': 'ok' }] },
          },
        ],
      },
    ]),
  );
  return buildConfig(
    { targets: { test: url }, runner, checks, hooks: { [EVENT]: Object.keys(checks) } },
    { checkTypes: [httpCheckType] },
  );
}

function runPlan(loaded: LoadedConfig, onResult?: (result: CheckResult) => void): Promise<Verdict> {
  return runChecks(loaded.plan(EVENT), {
    deadline: Date.now() + 60_000,
    targets: loaded.targets,
    deployment: { lifecycleEvent: EVENT },
    log: silentLogger,
    concurrency: loaded.runner.concurrency,
    failFast: loaded.runner.failFast,
    ...(onResult ? { onResult } : {}),
  });
}

/** What public hook samples do: each probe in turn, stopping at the first that does not pass. */
async function runSequentially(planned: readonly PlannedCheck[], loaded: LoadedConfig): Promise<number> {
  const t0 = performance.now();
  for (const { check } of planned) {
    const ctx: CheckContext = {
      signal: AbortSignal.timeout(60_000),
      deadline: Date.now() + 60_000,
      targets: loaded.targets,
      deployment: { lifecycleEvent: EVENT },
      log: silentLogger,
    };
    const report: CheckReport = await check.run(ctx);
    if (report.outcome !== 'passed') break;
  }
  return performance.now() - t0;
}

function probeMs(result: CheckResult): number {
  const requests = result.details?.requests as Array<{ durationMs: number }> | undefined;
  return requests?.[0]?.durationMs ?? result.durationMs;
}

async function settle(open: () => number): Promise<void> {
  const until = performance.now() + 5_000;
  while (open() > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
}

async function timeToVerdict(url: string, open: () => number): Promise<BenchFigure[]> {
  const wide = { concurrency: CHECKS };
  const healthy = configure(
    url,
    Array.from({ length: CHECKS }, () => ({ delayMs: PROBE_MS, status: 200 })),
    wide,
  );
  // The failing probe is second in line: a sequential run meets one slow probe before it.
  const oneFailing = configure(
    url,
    Array.from({ length: CHECKS }, (_, i) =>
      i === 1 ? { delayMs: FAILING_MS, status: 503 } : { delayMs: SLOW_MS, status: 200 },
    ),
    wide,
  );

  const verdictTimes: number[] = [];
  const slowestProbes: number[] = [];
  const afterFailure: number[] = [];
  const failVerdictTimes: number[] = [];
  for (let round = -1; round < ROUNDS; round++) {
    let t0 = performance.now();
    const verdict = await runPlan(healthy);
    const elapsed = performance.now() - t0;
    if (verdict.status !== 'Succeeded') throw new Error(`verdict bench: healthy run ${verdict.reason}`);

    let failedAt: number | undefined;
    t0 = performance.now();
    const failed = await runPlan(oneFailing, (result) => {
      if (result.outcome === 'failed') failedAt ??= performance.now();
    });
    const decidedAt = performance.now();
    if (failed.status !== 'Failed' || failedAt === undefined || !failed.reason.startsWith("'probe-1' failed"))
      throw new Error(`verdict bench: failing run ${failed.status}: ${failed.reason}`);
    await settle(open);
    if (round < 0) continue; // warm-up
    verdictTimes.push(elapsed);
    slowestProbes.push(Math.max(...verdict.checks.map(probeMs)));
    afterFailure.push(decidedAt - failedAt);
    failVerdictTimes.push(decidedAt - t0);
  }

  const sequentialHealthy: number[] = [];
  const sequentialFailing: number[] = [];
  for (let round = 0; round < SEQUENTIAL_ROUNDS; round++) {
    sequentialHealthy.push(await runSequentially(healthy.plan(EVENT), healthy));
    sequentialFailing.push(await runSequentially(oneFailing.plan(EVENT), oneFailing));
  }

  const verdictMs = median(verdictTimes);
  const slowestMs = median(slowestProbes);
  const limitMs = 1.2 * slowestMs + 20;
  const reactionMs = median(afterFailure);
  return [
    {
      name: `time to verdict, ${CHECKS} passing http checks, ${PROBE_MS} ms server`,
      value: verdictMs,
      unit: 'ms',
      baseline: { name: 'the same probes one after another', value: median(sequentialHealthy), unit: 'ms' },
      target: `≤ 1.2× slowest probe + 20 ms (${limitMs.toFixed(0)} ms)`,
      ok: verdictMs <= limitMs,
      note: `slowest probe ${slowestMs.toFixed(0)} ms (median of ${ROUNDS} rounds)`,
    },
    {
      name: `Failed verdict after the failure, 1 of ${CHECKS} failing at ${FAILING_MS} ms, others ${SLOW_MS} ms`,
      value: reactionMs,
      unit: 'ms',
      baseline: {
        name: 'the same probes one after another, stopping at the failure (second in line)',
        value: median(sequentialFailing),
        unit: 'ms',
      },
      target: '≤ 20 ms',
      ok: reactionMs <= 20,
      note: `Failed verdict ${median(failVerdictTimes).toFixed(0)} ms after the start (fail-fast through runChecks)`,
    },
  ];
}

/**
 * The V8 limits the Lambda Node.js runtime starts node with at 128 MB: its bootstrap gives new
 * space a tenth of AWS_LAMBDA_FUNCTION_MEMORY_SIZE (half of it per semi-space) and old space the
 * rest, i.e. `--max-semi-space-size=6 --max-old-space-size=116`, besides the flags below.
 */
const LAMBDA_MEMORY_MB = 128;
const LAMBDA_NODE_FLAGS = [
  '--expose-gc',
  '--max-http-header-size=81920',
  `--max-semi-space-size=${Math.floor(LAMBDA_MEMORY_MB / 10 / 2)}`,
  `--max-old-space-size=${LAMBDA_MEMORY_MB - Math.floor(LAMBDA_MEMORY_MB / 10)}`,
];
const FUNCTION = 'afterAllowTestTraffic';
/** `count` checks that each GET 1 MiB and look for its last bytes, all on the hook the bundle serves. */
function memoryConfig(url: string, count: number): string {
  const checks = Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      `body-${i}`,
      {
        type: 'http',
        requests: [{ path: `/body/${i}`, expect: { status: 200, body: { contains: BODY_END } } }],
      },
    ]),
  );
  // JSON is YAML: the hook reads it as it reads greenlight.yml.
  return JSON.stringify({ targets: { test: url }, checks, hooks: { [EVENT]: Object.keys(checks) } });
}

/**
 * What the Lambda runtime does with the bundle, in a fresh node: load it, invoke `handler` once
 * with a CodeDeploy event, turn the answer into the invocation's JSON response. It writes its
 * peak RSS, and its RSS once the bundle is loaded, to fd 3 (stdout is the function's log).
 */
const HOOK_CHILD = `
import { readFileSync, writeSync } from 'node:fs';
// At each new peak: the V8 heap and Buffer memory, and Linux's split of the RSS into anonymous
// memory and file pages (the node binary).
const split = () => {
  const { heapTotal, arrayBuffers } = process.memoryUsage();
  try {
    const kb = (name) => Number(readFileSync('/proc/self/status', 'utf8').match(new RegExp(name + ':\\\\s+(\\\\d+)'))?.[1]) * 1024;
    return { heapBytes: heapTotal, buffersBytes: arrayBuffers, anonBytes: kb('RssAnon'), fileBytes: kb('RssFile') };
  } catch { return { heapBytes: heapTotal, buffersBytes: arrayBuffers }; }
};
let sampled = process.memoryUsage.rss();
let peakSplit = split();
const sample = () => {
  const rss = process.memoryUsage.rss();
  if (rss > sampled) { sampled = rss; peakSplit = split(); }
};
const sampler = setInterval(sample, 5);
const mod = await import(process.argv[1]);
const loadedBytes = process.memoryUsage.rss();
const started = Date.now();
const event = { DeploymentId: 'd-BENCH0001', LifecycleEventHookExecutionId: 'bench-hook-execution' };
const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 300000 - (Date.now() - started) };
mod.handler(event, context).then(
  (outcome) => ({ status: outcome.status, reason: outcome.reason, delivery: outcome.delivery, responseBytes: Buffer.byteLength(JSON.stringify(outcome)) }),
  (err) => ({ status: 'threw', reason: String(err) }),
).then((result) => {
  clearInterval(sampler);
  sample();
  writeSync(3, JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, sampledPeakBytes: sampled, ...peakSplit, loadedBytes, ...result }));
});`;

const BARE_CHILD = `require('node:fs').writeSync(3, JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }))`;

/**
 * The floor under the hook: undici itself, loaded from node_modules, reading the same bodies with
 * the runner's default concurrency (8), each body kept until it has been searched, nothing else.
 */
const UNDICI_CHILD = `
const { request } = require('undici');
const { writeSync } = require('node:fs');
const [base, count] = [process.argv[1], Number(process.argv[2])];
let next = 0;
async function worker() {
  while (next < count) {
    const res = await request(base + '/body/' + next++);
    const chunks = [];
    for await (const chunk of res.body) chunks.push(chunk);
    if (!Buffer.concat(chunks).includes('${BODY_END}')) throw new Error('body without its end');
  }
}
Promise.all(Array.from({ length: 8 }, worker)).then(() =>
  writeSync(3, JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 })));`;

interface PeakRss {
  maxRssBytes: number;
  /** The highest RSS seen by sampling every few ms (maxRSS is the kernel's own high-water mark). */
  sampledPeakBytes?: number;
  /** At the sampled peak (Linux): anonymous memory and file pages (mostly the node binary). */
  anonBytes?: number;
  fileBytes?: number;
  /** At the sampled peak: V8's heap (total) and the memory of ArrayBuffers and Buffers. */
  heapBytes?: number;
  buffersBytes?: number;
  /** Right after the bundle was loaded, before the invocation. */
  loadedBytes?: number;
  status?: string;
  reason?: string;
  delivery?: string;
  responseBytes?: number;
}

/**
 * Runs `script` in a fresh node with the Lambda runtime's V8 limits, in `cwd` (the task root, for
 * the hook); what it writes to fd 3 is the answer.
 */
function lambdaChild(
  node: NodeBinary,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  module = false,
  cwd?: string,
): Promise<PeakRss> {
  const flags = module ? [...LAMBDA_NODE_FLAGS, '--input-type=module'] : LAMBDA_NODE_FLAGS;
  return new Promise((resolve, reject) => {
    const child = spawn(node.path, [...flags, '-e', script, ...args], {
      env,
      ...(cwd ? { cwd } : {}),
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      timeout: CHILD_TIMEOUT_MS,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdio[3]!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const text = Buffer.concat(out).toString('utf8');
      if (code !== 0 || !text) {
        const why = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join(' / ');
        reject(new Error(`verdict bench: memory child exited with ${signal ?? code}: ${why}`));
        return;
      }
      resolve(JSON.parse(text) as PeakRss);
    });
  });
}

/**
 * The hook as deployed: the AfterAllowTestTraffic function of `serverless package` for a config of
 * http checks only (their targets at `url`), AWS SDK bundled, unzipped outside the project so that
 * nothing but what its zip carries is in reach. Returns its handler file and the configs with 0, 1
 * and MEMORY_CHECKS checks, which the invocations choose through GREENLIGHT_CONFIG.
 */
async function packagedHook(
  dir: string,
  url: string,
): Promise<{ file: string; taskRoot: string; configs: Map<number, string> }> {
  const configs = new Map<number, string>();
  for (const count of [0, 1, MEMORY_CHECKS]) {
    const path = join(dir, `greenlight-${count}.yml`);
    writeFileSync(path, memoryConfig(url, count));
    configs.set(count, path);
  }
  const stack = await packageStack(memoryConfig(url, MEMORY_CHECKS));
  try {
    const fn = stack.functions.get(FUNCTION);
    if (!fn) throw new Error(`verdict bench: no ${FUNCTION} in the packaged template`);
    const taskRoot = unpack(fn);
    const file = join(taskRoot, `${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.js`);
    if (!existsSync(file)) throw new Error(`verdict bench: ${fn.handler} is not ${file}`);
    return { file: pathToFileURL(file).href, taskRoot, configs };
  } finally {
    stack.remove();
  }
}

async function peakRss(url: string, node: NodeBinary, label: string): Promise<BenchFigure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'greenlight-verdict-'));
  const cleanUp = [dir];
  // CodeDeploy, in this process: the hook's report is part of what it does.
  const codedeploy = codeDeployServer().on('PutLifecycleEventHookExecutionStatus', (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));
  try {
    const endpoint = await codedeploy.start();
    const { file, taskRoot, configs } = await packagedHook(dir, url);
    cleanUp.push(taskRoot);
    const envFor = (checks: number): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      GREENLIGHT_CONFIG: configs.get(checks),
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(LAMBDA_MEMORY_MB),
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_ENDPOINT_URL_CODEDEPLOY: endpoint,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_SERVICE_NAME: 'greenlight',
    });
    const invoke = async (checks: number): Promise<PeakRss> => {
      const child = await lambdaChild(node, HOOK_CHILD, [file], envFor(checks), true, taskRoot);
      const reported = codedeploy.calls.at(-1)?.body.status;
      if (child.status !== 'Succeeded' || child.delivery !== 'reported' || reported !== 'Succeeded')
        throw new Error(
          `verdict bench: hook with ${checks} checks: ${child.status} (${child.delivery}, reported ${reported}): ${child.reason}`,
        );
      return child;
    };
    const bare: PeakRss[] = [];
    const none: PeakRss[] = [];
    const one: PeakRss[] = [];
    const ran: PeakRss[] = [];
    const undici: PeakRss[] = [];
    for (let round = 0; round < MEMORY_ROUNDS; round++) {
      bare.push(await lambdaChild(node, BARE_CHILD, [], { PATH: process.env.PATH }));
      undici.push(
        await lambdaChild(node, UNDICI_CHILD, [url, String(MEMORY_CHECKS)], {
          PATH: process.env.PATH,
          NODE_PATH: join(REPO_ROOT, 'node_modules'),
        }),
      );
      none.push(await invoke(0));
      one.push(await invoke(1));
      ran.push(await invoke(MEMORY_CHECKS));
    }
    const mib = (children: PeakRss[], field: (c: PeakRss) => number = (c) => c.maxRssBytes) =>
      median(children.map(field)) / MiB;
    const peakMiB = mib(ran);
    const oneMiB = mib(one);
    const responseKb = median(ran.map((c) => c.responseBytes ?? 0)) / 1024;
    // The target is the whole process against the smallest Lambda's memory, not the growth.
    return [
      {
        name: `peak RSS, ${MEMORY_CHECKS} http checks reading 1 MiB bodies, ${label}`,
        value: peakMiB,
        unit: 'MiB',
        baseline: {
          name: 'the same packaged hook invoked with 1 such check',
          value: oneMiB,
          unit: 'MiB',
        },
        target: `≤ ${LAMBDA_MEMORY_MB} MiB`,
        ok: peakMiB <= LAMBDA_MEMORY_MB,
        note:
          `maxRSS (sampled ${mib(ran, (c) => c.sampledPeakBytes ?? 0).toFixed(0)} MiB: anonymous ` +
          `${mib(ran, (c) => c.anonBytes ?? 0).toFixed(0)} MiB, file pages ${mib(ran, (c) => c.fileBytes ?? 0).toFixed(0)} MiB; ` +
          `V8 heap ${mib(ran, (c) => c.heapBytes ?? 0).toFixed(0)} MiB, buffers ${mib(ran, (c) => c.buffersBytes ?? 0).toFixed(0)} MiB) of the ` +
          `AfterAllowTestTraffic function unzipped from its serverless package zip (AWS SDK bundled), invoked with a CodeDeploy event, ` +
          `report to a local CodeDeploy, ` +
          `INFO logs to /dev/null, ${responseKb.toFixed(0)} KB JSON response; ` +
          `node ${node.version} ${LAMBDA_NODE_FLAGS.filter((f) => f.includes('space')).join(' ')} as the Lambda runtime ` +
          `at ${LAMBDA_MEMORY_MB} MB; growth over 1 check ${(peakMiB - oneMiB).toFixed(0)} MiB; ` +
          `bundle loaded ${mib(ran, (c) => c.loadedBytes ?? 0).toFixed(0)} MiB, ` +
          `0 checks ${mib(none).toFixed(0)} MiB, bare node ${mib(bare).toFixed(0)} MiB; ` +
          `default runner settings; median of ${MEMORY_ROUNDS} fresh processes each`,
      },
      {
        name: `peak RSS, undici alone reading the same ${MEMORY_CHECKS} bodies, ${label}`,
        value: mib(undici),
        unit: 'MiB',
        baseline: { name: 'bare node, same flags', value: mib(bare), unit: 'MiB' },
        target: 'recorded',
        ok: true,
        note:
          `the floor under the hook: undici.request from node_modules, 8 at a time, each body kept ` +
          `until searched, no hook, no config, no SDK, the same node and V8 flags; median of ${MEMORY_ROUNDS}`,
      },
    ];
  } finally {
    await codedeploy.stop();
    for (const path of cleanUp) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * How fast the real runner turns http checks into a verdict: 50 passing checks against a 50 ms
 * server (about one probe's time, not fifty), and one failing check among slow ones (Failed at
 * once, through fail-fast). Then the peak memory of the packaged hook running 500 checks that read
 * 1 MiB bodies each, in a fresh node with the V8 limits of a 128 MB Lambda.
 */
export const verdictBench: Bench = {
  id: 'verdict',
  title: `time to verdict for ${CHECKS} http checks; peak RSS for ${MEMORY_CHECKS} checks reading 1 MiB bodies`,
  async run() {
    const { url, server, open } = await startServer();
    try {
      // Memory on the Node line the functions run (fetched when this node is another), and on this one.
      const runtime = runtimeNode();
      const here = nodeAt(process.execPath);
      const figures = [
        ...(await timeToVerdict(url, open)),
        ...(await peakRss(url, runtime, `Node ${runtime.major} (the runtime's)`)),
      ];
      if (runtime.path !== here.path)
        figures.push(...(await peakRss(url, here, `this machine's Node ${here.major}`)));
      const load = `load average ${loadavg()[0]!.toFixed(1)}`;
      return figures.map((f) => ({ ...f, note: f.note ? `${f.note}; ${load}` : load }));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
};
