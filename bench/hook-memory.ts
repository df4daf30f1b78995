import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageStack, unpack } from '../test/artifact/artifact-kit';
import { codeDeployServer } from '../test/support/aws-json-server';
import type { BenchFigure } from './harness';
import { median, REPO_ROOT } from './harness';
import type { NodeBinary } from './runtime-node';

export const MEMORY_CHECKS = 500;
export const MEMORY_ROUNDS = 5;
export const BODY_BYTES = 1024 * 1024;
export const MiB = 1024 * 1024;
export const BODY_END = 'END-OF-BODY';
export const EVENT = 'AfterAllowTestTraffic';
export const CHILD_TIMEOUT_MS = 120_000;

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

export async function peakRss(url: string, node: NodeBinary, label: string): Promise<BenchFigure[]> {
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
