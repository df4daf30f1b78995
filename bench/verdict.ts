import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { httpCheckType } from '../checks/http';
import { runChecks, type PlannedCheck, type Verdict } from '../checks/runner';
import type { CheckContext, CheckReport, CheckResult } from '../checks/types';
import { buildConfig, type LoadedConfig } from '../config/config';
import { silentLogger } from '../lib/log';
import type { Bench, BenchFigure } from './harness';
import { median } from './harness';
import { nodeAt, runtimeNode } from './runtime-node';
import { BODY_BYTES, BODY_END, EVENT, MEMORY_CHECKS, peakRss } from './hook-memory';

const CHECKS = 50;
const PROBE_MS = 50;
const FAILING_MS = 10;
const SLOW_MS = 2_000;
const ROUNDS = 7;
const SEQUENTIAL_ROUNDS = 3;

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
