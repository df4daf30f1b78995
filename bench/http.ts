import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { Agent } from 'undici';
import { httpCheckType } from '../checks/http';
import type { Check } from '../checks/types';
import { buildConfig } from '../config/config';
import { silentLogger } from '../lib/log';
import type { Bench } from './harness';
import { median } from './harness';

const SLOW_MS = 50;
const FAN_OUT = 50;
const THROUGHPUT_REQUESTS = 2_000;
const CONCURRENCY = 16;
const ROUNDS = 9;
const WARM_UP_ROUNDS = 2;

async function serve(delayMs: number): Promise<{ url: string; server: Server }> {
  const body = JSON.stringify({ status: 'ok' });
  const server = createServer((_req, res) => {
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function build(url: string, requests: number, concurrency: number): Check {
  const loaded = buildConfig(
    {
      targets: { test: url },
      checks: {
        bench: {
          type: 'http',
          concurrency,
          requests: Array.from({ length: requests }, () => ({
            path: '/health',
            expect: { status: 200, json: [{ path: 'status', '==': 'ok' }] },
          })),
        },
      },
      hooks: { AfterAllowTestTraffic: ['bench'] },
    },
    { checkTypes: [httpCheckType] },
  );
  return loaded.plan('AfterAllowTestTraffic')[0]!.check;
}

interface Timing {
  wallMs: number;
  /** CPU time of this process (client and server alike): steadier than wall time on a busy machine. */
  cpuMs: number;
}

async function timed(run: () => Promise<unknown>): Promise<Timing> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function timeCheck(check: Check, url: string): Promise<number> {
  const t0 = performance.now();
  const report = await check.run({
    signal: AbortSignal.timeout(60_000),
    deadline: Date.now() + 60_000,
    targets: { test: new URL(url) },
    deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
    log: silentLogger,
  });
  const elapsed = performance.now() - t0;
  if (report.outcome !== 'passed') throw new Error(`http bench: check ${report.outcome}: ${report.message}`);
  return elapsed;
}

/** The same work with undici alone: a fresh agent per round (as the check has), `CONCURRENCY` loops. */
async function timeBare(url: string, requests: number, concurrency: number): Promise<number> {
  const agent = new Agent();
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next++ < requests) {
      const res = await agent.request({ origin: url, path: '/health', method: 'GET' });
      const json = (await res.body.json()) as { status?: string };
      if (res.statusCode !== 200 || json.status !== 'ok') throw new Error('http bench: bare request failed');
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - t0;
  await agent.close();
  return elapsed;
}

/**
 * The http check's own cost: fanning 50 requests out to a server that answers in 50 ms should
 * take about one answer's time, and per-request throughput against an instant server should
 * stay close to bare undici at the same concurrency.
 */
export const httpBench: Bench = {
  id: 'http',
  title: `http check: ${FAN_OUT} requests to a ${SLOW_MS} ms server; ${THROUGHPUT_REQUESTS} requests at concurrency ${CONCURRENCY} vs bare undici`,
  async run() {
    const slow = await serve(SLOW_MS);
    const fast = await serve(0);
    try {
      const single = build(slow.url, 1, 1);
      const fanOut = build(slow.url, FAN_OUT, FAN_OUT);
      const many = build(fast.url, THROUGHPUT_REQUESTS, CONCURRENCY);
      const runCheck = () => timed(() => timeCheck(many, fast.url));
      const runBare = () => timed(() => timeBare(fast.url, THROUGHPUT_REQUESTS, CONCURRENCY));
      for (let round = 0; round < WARM_UP_ROUNDS; round++) {
        await timeCheck(single, slow.url);
        await timeCheck(fanOut, slow.url);
        await runCheck();
        await runBare();
      }

      const singleTimes: number[] = [];
      const fanOutTimes: number[] = [];
      const checkTimes: Timing[] = [];
      const bareTimes: Timing[] = [];
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        singleTimes.push(await timeCheck(single, slow.url));
        fanOutTimes.push(await timeCheck(fanOut, slow.url));
        // Each round pairs the two, in alternating order, so drifting load and leftover garbage
        // fall on both sides alike; the figure is the median of the paired ratios.
        const first = round % 2 ? await runCheck() : await runBare();
        const second = round % 2 ? await runBare() : await runCheck();
        const [bare, check] = round % 2 ? [second, first] : [first, second];
        bareTimes.push(bare);
        checkTimes.push(check);
        ratios.push(bare.wallMs / check.wallMs);
        cpuRatios.push(bare.cpuMs / check.cpuMs);
      }
      const singleMs = median(singleTimes);
      const fanOutMs = median(fanOutTimes);
      const limit = 1.2 * singleMs + 20;
      const checkRate = THROUGHPUT_REQUESTS / (median(checkTimes.map((t) => t.wallMs)) / 1000);
      const bareRate = THROUGHPUT_REQUESTS / (median(bareTimes.map((t) => t.wallMs)) / 1000);
      const ratio = median(ratios);
      const cpuRatio = median(cpuRatios);
      return [
        {
          name: `${FAN_OUT} requests at once, ${SLOW_MS} ms server`,
          value: fanOutMs,
          unit: 'ms',
          baseline: { name: 'the same check with 1 request', value: singleMs, unit: 'ms' },
          target: `≤ 1.2× baseline + 20 ms (${limit.toFixed(0)} ms)`,
          ok: fanOutMs <= limit,
        },
        {
          name: `throughput at concurrency ${CONCURRENCY}, 0 ms server`,
          value: checkRate,
          unit: 'req/s',
          baseline: { name: 'bare undici.request loop', value: bareRate, unit: 'req/s' },
          target: '≥ 0.8× baseline',
          ok: ratio >= 0.8,
          note:
            `median of ${ROUNDS} paired rounds: ${ratio.toFixed(2)}× baseline in wall time, ` +
            `${cpuRatio.toFixed(2)}× in CPU time per request; load average ${loadavg()[0]!.toFixed(1)}`,
        },
      ];
    } finally {
      await Promise.all(
        [slow, fast].map(
          ({ server }) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    }
  },
};
