import type { MemcacheClient } from 'memcache-client';
import { errorMessage } from '../../lib/errors';
import {
  bounded,
  connectReason,
  StoreError,
  storeLabel,
  tlsOptionsFor,
  type EvictionStats,
  type SessionStore,
  type StoreOptions,
} from './store';

type MemcachedStoreOptions = Extract<StoreOptions, { engine: 'memcached' }>;

/**
 * Memcached through memcache-client: unlike memjs it speaks TLS (ElastiCache in-transit
 * encryption) and has connect and command timeouts. ElastiCache Memcached has no SASL, so
 * there are no credentials to pass. Keys cannot be listed, so there is no live sample.
 */
export async function openMemcachedStore(
  options: MemcachedStoreOptions,
  signal: AbortSignal,
): Promise<SessionStore> {
  const label = storeLabel(options);
  const { MemcacheClient: Client } = await import('memcache-client');
  const tls = await tlsOptionsFor(options);
  const client: MemcacheClient = new Client({
    server: `${options.host}:${options.port}`,
    connectTimeout: options.connectTimeoutMs,
    cmdTimeout: options.commandTimeoutMs,
    ...(tls ? { tls } : {}),
  });
  client.on('error', () => {
    // Errors reach the caller through the rejected command; the event only needs a listener.
  });
  const run = async <T>(
    what: string,
    work: () => Promise<T>,
    timeoutMs = options.commandTimeoutMs,
  ): Promise<T> => {
    try {
      return await bounded(work, what, timeoutMs, signal);
    } catch (err) {
      const reason = errorMessage(err);
      // The connect is where a misconfiguration shows; later failures are the store's own.
      throw new StoreError(what, what === 'connect' ? connectReason(options, reason, err) : reason, label, {
        cause: err,
      });
    }
  };
  const close = async () => client.shutdown();

  try {
    // The client connects on its first command; version is the cheapest one.
    await run('connect', () => client.version(), options.connectTimeoutMs + options.commandTimeoutMs);
  } catch (err) {
    await close();
    throw err;
  }

  const stats = async (): Promise<Map<string, string>> => {
    const reply = await run('stats', () => client.cmd<{ STAT?: string[][] }>('stats'));
    return new Map((reply.STAT ?? []).map(([name, value]) => [name ?? '', value ?? '']));
  };

  return {
    label,
    ping: () => run('version', async () => void (await client.version())),
    setWithTtl: (key, value, ttlSeconds) =>
      run('set', async () => void (await client.set(key, value, { lifetime: ttlSeconds, compress: false }))),
    get: (key) =>
      run('get', async () => {
        const reply = await client.get<string | Buffer>(key);
        if (!reply) return undefined;
        return Buffer.isBuffer(reply.value) ? reply.value.toString('utf8') : String(reply.value);
      }),
    exists: (key) => run('get', async () => Boolean(await client.get<string | Buffer>(key))),
    ttlMs: async () => undefined,
    delete: (key) =>
      run('delete', async () => {
        try {
          await client.delete(key);
        } catch (err) {
          // Deleting a key that is already gone is what a re-run after a crash looks like.
          if (!/NOT_FOUND/.test(errorMessage(err))) throw err;
        }
      }),
    async evictionStats(): Promise<EvictionStats> {
      const all = await stats();
      const used = Number(all.get('bytes') ?? 0);
      const max = Number(all.get('limit_maxbytes') ?? 0);
      return {
        evictedKeys: Number(all.get('evictions') ?? 0),
        ...(max > 0 ? { memoryUse: used / max } : {}),
      };
    },
    close,
  };
}
