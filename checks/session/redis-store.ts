import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { errorMessage } from '../../lib/errors';
import { registerSecret } from '../../lib/redact';
import {
  bounded,
  connectReason,
  StoreError,
  storeLabel,
  tlsOptionsFor,
  type EvictionStats,
  type SampleLimits,
  type SampledValue,
  type SampleStats,
  type SessionStore,
  type StoreOptions,
} from './store';

type RedisStoreOptions = Extract<StoreOptions, { engine: 'redis' }>;

/** Values read per pipeline round trip while sampling. */
const GET_BATCH = 256;

/** `INFO` text to a map of its `key:value` lines. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

/**
 * Redis or Valkey through ioredis, standalone or cluster. No reconnects and no offline queue: a
 * hook must report a dead store at once, not retry until the Lambda times out.
 */
export async function openRedisStore(options: RedisStoreOptions, signal: AbortSignal): Promise<SessionStore> {
  registerSecret(options.password);
  const label = storeLabel(options);
  const { Redis: RedisClient, Cluster: ClusterClient } = await import('ioredis');
  const tls = await tlsOptionsFor(options);
  const connection: RedisOptions = {
    ...(options.username ? { username: options.username } : {}),
    ...(options.password ? { password: options.password } : {}),
    ...(tls ? { tls } : {}),
    connectTimeout: options.connectTimeoutMs,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: true,
    lazyConnect: true,
    disableClientInfo: true,
    // Not in the typings: how long disconnect() waits for a graceful close before destroying
    // the socket. The default 2 s timer outlives a refused connection and holds the process.
    ...({ disconnectTimeout: 200 } as object),
  };
  const client: Redis | Cluster = options.cluster
    ? new ClusterClient([{ host: options.host, port: options.port }], {
        redisOptions: connection,
        lazyConnect: true,
        clusterRetryStrategy: () => null,
        enableOfflineQueue: true,
        maxRedirections: 4,
        slotsRefreshTimeout: options.connectTimeoutMs,
        // ElastiCache's node certificates name the configuration endpoint, not the node IPs.
        ...(tls
          ? {
              dnsLookup: (address: string, callback: (err: null, address: string) => void) =>
                callback(null, address),
            }
          : {}),
      })
    : new RedisClient({ ...connection, host: options.host, port: options.port, db: options.db });

  // The driver reports the real cause (WRONGPASS, ECONNREFUSED, a certificate error) as an
  // 'error' event and then rejects with a generic "Connection is closed".
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError = err;
  });
  const fail = (what: string, err: unknown): Error => {
    const own = errorMessage(err);
    let reason = own;
    if (lastError && !own.includes(lastError.message)) {
      reason = /Connection is closed/.test(own) ? lastError.message : `${own} (${lastError.message})`;
    }
    // The connect is where a misconfiguration shows; later failures are the store's own.
    if (what === 'connect') reason = connectReason(options, reason, lastError ?? err);
    return new StoreError(what, reason, label, { cause: err });
  };
  const run = async <T>(
    what: string,
    work: () => Promise<T>,
    timeoutMs = options.commandTimeoutMs,
  ): Promise<T> => {
    try {
      return await bounded(work, what, timeoutMs, signal);
    } catch (err) {
      throw fail(what, err);
    }
  };
  const close = async () => {
    client.disconnect();
  };

  try {
    await run('connect', () => client.connect(), options.connectTimeoutMs + options.commandTimeoutMs * 2);
  } catch (err) {
    await close();
    throw err;
  }

  const masters = (): Redis[] =>
    client instanceof ClusterClient ? (client as Cluster).nodes('master') : [client as Redis];

  return {
    label,
    ping: () => run('PING', async () => void (await client.ping())),
    setWithTtl: (key, value, ttlSeconds) =>
      run('SET', async () => void (await client.set(key, value, 'EX', ttlSeconds))),
    get: (key) => run('GET', async () => (await client.get(key)) ?? undefined),
    exists: (key) => run('EXISTS', async () => (await client.exists(key)) > 0),
    ttlMs: (key) => run('PTTL', () => client.pttl(key)),
    delete: (key) => run('DEL', async () => void (await client.del(key))),
    async evictionStats(): Promise<EvictionStats> {
      const stats: EvictionStats = { evictedKeys: 0 };
      for (const node of masters()) {
        // CONFIG is blocked on ElastiCache: INFO carries both the policy and the counters.
        const info = parseInfo(await run('INFO', () => node.info()));
        stats.policy ??= info.get('maxmemory_policy');
        stats.evictedKeys += Number(info.get('evicted_keys') ?? 0);
        const max = Number(info.get('maxmemory') ?? 0);
        if (max > 0)
          stats.memoryUse = Math.max(stats.memoryUse ?? 0, Number(info.get('used_memory') ?? 0) / max);
      }
      return stats;
    },
    async sample(limits: SampleLimits, onValue: (value: SampledValue) => void): Promise<SampleStats> {
      const nodes = masters();
      const stats: SampleStats = { keysScanned: 0, scanCalls: 0, nodes: nodes.length, complete: true };
      const match = `${limits.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
      let read = 0;
      for (let n = 0; n < nodes.length; n++) {
        const node = nodes[n]!;
        // Each node gets an even share of what is left, so one large node cannot use up the budget.
        const nodesLeft = nodes.length - n;
        const wanted = Math.ceil((limits.size - read) / nodesLeft);
        const scanBudget = Math.ceil((limits.maxKeysScanned - stats.keysScanned) / nodesLeft);
        let cursor = '0';
        let nodeRead = 0;
        let nodeScanned = 0;
        let pending: string[] = [];
        const flush = async () => {
          const keys = pending;
          pending = [];
          if (keys.length === 0) return;
          const pipeline = node.pipeline();
          for (const key of keys) pipeline.getBuffer(key);
          const replies = (await run('GET (sample)', () => pipeline.exec())) ?? [];
          // Spring Session keeps a session as a hash: GET answers WRONGTYPE, HGETALL reads it.
          const hashes = keys.filter((_, i) => replies[i]?.[0]?.message.startsWith('WRONGTYPE'));
          const fields = new Map<string, [Error | null, unknown]>();
          if (hashes.length) {
            const hashPipeline = node.pipeline();
            for (const key of hashes) hashPipeline.hgetallBuffer(key);
            const hashReplies = (await run('HGETALL (sample)', () => hashPipeline.exec())) ?? [];
            hashes.forEach((key, i) => fields.set(key, hashReplies[i] ?? [null, undefined]));
          }
          keys.forEach((key, i) => {
            const [err, value] = fields.get(key) ?? replies[i] ?? [null, undefined];
            if (err) onValue({ key, error: err.message.split(' ')[0] ?? 'error' });
            else if (Buffer.isBuffer(value)) onValue({ key, value: { kind: 'bytes', bytes: value } });
            else if (value && typeof value === 'object' && Object.keys(value).length > 0)
              onValue({
                key,
                value: { kind: 'hash', fields: new Map(Object.entries(value as Record<string, Buffer>)) },
              });
            else onValue({ key });
          });
        };
        do {
          const [next, keys] = await run('SCAN', () =>
            node.scan(cursor, 'MATCH', match, 'COUNT', limits.scanCount),
          );
          cursor = next;
          stats.scanCalls++;
          stats.keysScanned += limits.scanCount;
          nodeScanned += limits.scanCount;
          for (const key of keys) {
            if (nodeRead >= wanted) break;
            pending.push(key);
            nodeRead++;
            if (pending.length >= GET_BATCH) await flush();
          }
        } while (cursor !== '0' && nodeRead < wanted && nodeScanned < scanBudget);
        await flush();
        read += nodeRead;
        if (cursor !== '0') stats.complete = false;
      }
      return stats;
    },
    close,
  };
}
