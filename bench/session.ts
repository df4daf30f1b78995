import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { sessionCheckType } from '../checks/session';
import type { CheckReport } from '../checks/types';
import { silentLogger } from '../lib/log';
import type { Bench, BenchFigure } from './harness';
import { median } from './harness';

const SAMPLE_KEYS = 10_000;
const BIG_STORE_KEYS = 1_000_000;
const SCAN_CAP = 100_000;
const ROUNDS = 5;
const WRITE_BATCH = 10_000;

function sessionValue(i: number): string {
  return JSON.stringify({
    cookie: { originalMaxAge: 3_600_000, expires: null, httpOnly: true, path: '/' },
    user: { id: i, name: `user${i}` },
  });
}

async function fill(
  redis: Redis,
  prefix: string,
  count: number,
  value: (i: number) => string,
): Promise<void> {
  for (let start = 0; start < count; start += WRITE_BATCH) {
    const pipeline = redis.pipeline();
    // A TTL, so an interrupted bench leaves nothing behind for long.
    for (let i = start; i < Math.min(count, start + WRITE_BATCH); i++)
      pipeline.set(`${prefix}${i}`, value(i), 'EX', 900);
    await pipeline.exec();
  }
}

async function unlinkAll(redis: Redis, match: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 10_000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

async function runCheck(options: Record<string, unknown>): Promise<CheckReport> {
  const parsed = sessionCheckType.options.parse(options);
  const check = sessionCheckType.create(parsed, {
    name: 'bench',
    path: 'checks.bench',
    targets: ['test'],
    fail: (_p, m) => new Error(m),
  });
  return check.run({
    signal: AbortSignal.timeout(60_000),
    deadline: Date.now() + 60_000,
    targets: { test: new URL('http://127.0.0.1:1') },
    deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
    log: silentLogger,
  });
}

/**
 * The session check's live sample on the machine's Redis: decoding 10,000 sessions against a
 * bare pipeline of the same GETs, and the scan bound on a store of 1,000,000 keys.
 */
export const sessionBench: Bench = {
  id: 'session',
  title: `session live sample: ${SAMPLE_KEYS} keys, and a ${BIG_STORE_KEYS.toLocaleString('en')}-key store`,
  async run(): Promise<BenchFigure[]> {
    const redis = new Redis({ host: '127.0.0.1', port: 6379 });
    const area = `session-bench-${randomBytes(4).toString('hex')}:`;
    const store = { engine: 'redis', host: '127.0.0.1', port: 6379, commandTimeoutMs: 10_000 };
    try {
      const sessions = `${area}sess:`;
      await fill(redis, sessions, SAMPLE_KEYS, sessionValue);
      const sampleOptions = {
        store,
        canary: false,
        eviction: false,
        sample: {
          keyPrefix: sessions,
          codec: 'express-session',
          size: SAMPLE_KEYS,
          scanCount: 1_000,
          maxKeysScanned: 1_000_000,
        },
      };
      const checkTimes: number[] = [];
      const bareTimes: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        let t0 = performance.now();
        const pipeline = redis.pipeline();
        for (let i = 0; i < SAMPLE_KEYS; i++) pipeline.get(`${sessions}${i}`);
        await pipeline.exec();
        bareTimes.push(performance.now() - t0);
        t0 = performance.now();
        const report = await runCheck(sampleOptions);
        checkTimes.push(performance.now() - t0);
        const read = (report.details?.sample as { read?: number } | undefined)?.read;
        if (report.outcome !== 'passed' || read !== SAMPLE_KEYS)
          throw new Error(`session bench: expected ${SAMPLE_KEYS} sessions read, got ${report.message}`);
      }
      const sampleMs = median(checkTimes);

      // 1,000,000 keys that are not sessions, 10 that are: the sample must stop at its scan cap.
      const others = `${area}other:`;
      await fill(redis, others, BIG_STORE_KEYS, () => 'x');
      await fill(redis, `${area}few:`, 10, sessionValue);
      const t0 = performance.now();
      const big = await runCheck({
        store,
        canary: false,
        eviction: false,
        sample: {
          keyPrefix: `${area}few:`,
          codec: 'express-session',
          size: 200,
          scanCount: 1_000,
          maxKeysScanned: SCAN_CAP,
        },
      });
      const bigMs = performance.now() - t0;
      const stats = big.details?.sample as { keysScanned: number; complete: boolean; read: number };
      const dbsize = await redis.dbsize();
      return [
        {
          name: `sample ${SAMPLE_KEYS.toLocaleString('en')} sessions (SCAN, GET, decode, validate)`,
          value: sampleMs,
          unit: 'ms',
          baseline: {
            name: `bare pipeline of ${SAMPLE_KEYS.toLocaleString('en')} GETs`,
            value: median(bareTimes),
            unit: 'ms',
          },
          target: '≤ 1000 ms',
          ok: sampleMs <= 1_000,
        },
        {
          name: `keys examined in a ${dbsize.toLocaleString('en')}-key store (cap ${SCAN_CAP.toLocaleString('en')})`,
          value: stats.keysScanned,
          unit: 'keys',
          baseline: { name: 'keys in the store', value: dbsize, unit: 'keys' },
          target: `≤ ${SCAN_CAP.toLocaleString('en')}, never the whole store`,
          ok: stats.keysScanned <= SCAN_CAP && !stats.complete,
          note: `${stats.read} sessions found in ${Math.round(bigMs)} ms`,
        },
      ];
    } finally {
      await unlinkAll(redis, `${area}*`);
      redis.disconnect();
    }
  },
};
