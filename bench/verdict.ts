import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { promisify } from 'node:util';
import { httpCheckType } from '../checks/http';
import { runChecks, type PlannedCheck, type Verdict } from '../checks/runner';
import type { CheckContext, CheckReport, CheckResult } from '../checks/types';
import { buildConfig, type LoadedConfig } from '../lib/config';
import { silentLogger } from '../lib/log';
import type { Bench, BenchFigure } from './harness';
import { median } from './harness';

const CHECKS = 50;
const PROBE_MS = 50;
const FAILING_MS = 10;
const SLOW_MS = 2_000;
const ROUNDS = 7;
const SEQUENTIAL_ROUNDS = 3;
const MEMORY_CHECKS = 500;
const MEMORY_ROUNDS = 3;
const BODY_BYTES = 1024 * 1024;
const MiB = 1024 * 1024;
const BODY_END = 'END-OF-BODY';
const EVENT = 'AfterAllowTestTraffic';
const CHILD_FLAG = '--peak-rss-child';
const CHILD_TIMEOUT_MS = 120_000;

const run = promisify(execFile);

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

interface PeakRss {
  maxRssBytes: number;
  /** The highest RSS seen by sampling every few ms (maxRSS is the kernel's own high-water mark). */
  sampledPeakBytes: number;
  status?: string;
  reason?: string;
}

/**
 * Runs this file in a fresh Node process: it loads the runner, the config loader and the http
 * check, then runs `checks` of them against `url` (0: it only starts). With `bare`, a Node
 * process that loads nothing at all.
 */
async function peakRssOfChild(url: string, checks: number, bare = false): Promise<PeakRss> {
  const args = bare
    ? ['-e', `process.stdout.write(JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }))`]
    : [__filename, CHILD_FLAG, url, String(checks)];
  const { stdout } = await run(process.execPath, args, { timeout: CHILD_TIMEOUT_MS, maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout) as PeakRss;
}

async function peakRss(url: string): Promise<BenchFigure[]> {
  const bare: PeakRss[] = [];
  const started: PeakRss[] = [];
  const ran: PeakRss[] = [];
  for (let round = 0; round < MEMORY_ROUNDS; round++) {
    bare.push(await peakRssOfChild(url, 0, true));
    started.push(await peakRssOfChild(url, 0));
    const child = await peakRssOfChild(url, MEMORY_CHECKS);
    if (child.status !== 'Succeeded')
      throw new Error(`verdict bench: memory child ${child.status}: ${child.reason}`);
    ran.push(child);
  }
  const peakOf = (children: PeakRss[]) => median(children.map((c) => c.maxRssBytes)) / MiB;
  const bareMiB = peakOf(bare);
  const startedMiB = peakOf(started);
  const peakMiB = peakOf(ran);
  const sampledMiB = median(ran.map((c) => c.sampledPeakBytes)) / MiB;
  // The target is the whole process against the smallest Lambda's memory, not the growth.
  return [
    {
      name: `peak RSS, ${MEMORY_CHECKS} http checks reading 1 MiB bodies`,
      value: peakMiB,
      unit: 'MiB',
      baseline: {
        name: 'the same child that only loads the config and checks',
        value: startedMiB,
        unit: 'MiB',
      },
      target: '≤ 128 MiB',
      ok: peakMiB <= 128,
      note:
        `growth ${(peakMiB - startedMiB).toFixed(0)} MiB; maxRSS (sampled ${sampledMiB.toFixed(0)} MiB); ` +
        `bare node ${bareMiB.toFixed(0)} MiB; default runner settings; median of ${MEMORY_ROUNDS} fresh processes each`,
    },
  ];
}

/**
 * How fast the real runner turns http checks into a verdict: 50 passing checks against a 50 ms
 * server (about one probe's time, not fifty), and one failing check among slow ones (Failed at
 * once, through fail-fast). Then the peak memory of 500 checks reading 1 MiB bodies each, in a
 * fresh process.
 */
export const verdictBench: Bench = {
  id: 'verdict',
  title: `time to verdict for ${CHECKS} http checks; peak RSS for ${MEMORY_CHECKS} checks reading 1 MiB bodies`,
  async run() {
    const { url, server, open } = await startServer();
    try {
      const figures = [...(await timeToVerdict(url, open)), ...(await peakRss(url))];
      const load = `load average ${loadavg()[0]!.toFixed(1)}`;
      return figures.map((f) => ({ ...f, note: f.note ? `${f.note}; ${load}` : load }));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
};

/** The memory child: builds `count` http checks reading 1 MiB each, runs them, prints its peak RSS. */
async function memoryChild(url: string, count: number): Promise<void> {
  let sampledPeakBytes = process.memoryUsage.rss();
  if (count === 0) {
    process.stdout.write(
      JSON.stringify({
        maxRssBytes: process.resourceUsage().maxRSS * 1024,
        sampledPeakBytes,
        status: 'Succeeded',
      }),
    );
    return;
  }
  const sampler = setInterval(() => {
    sampledPeakBytes = Math.max(sampledPeakBytes, process.memoryUsage.rss());
  }, 5);
  const checks = Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      `body-${i}`,
      {
        type: 'http',
        requests: [{ path: `/body/${i}`, expect: { status: 200, body: { contains: BODY_END } } }],
      },
    ]),
  );
  const loaded = buildConfig(
    { targets: { test: url }, checks, hooks: { [EVENT]: Object.keys(checks) } },
    { checkTypes: [httpCheckType] },
  );
  const verdict = await runPlan(loaded);
  clearInterval(sampler);
  sampledPeakBytes = Math.max(sampledPeakBytes, process.memoryUsage.rss());
  const out: PeakRss = {
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    sampledPeakBytes,
    status: verdict.status,
    reason: verdict.reason,
  };
  process.stdout.write(JSON.stringify(out));
}

if (require.main === module && process.argv[2] === CHILD_FLAG) {
  memoryChild(process.argv[3]!, Number(process.argv[4])).catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
}
