import type { SessionStore, StoreOptions } from './store';

/** Opens the configured store: drivers load here, so a bundle without session checks stays light. */
export async function openSessionStore(options: StoreOptions, signal: AbortSignal): Promise<SessionStore> {
  if (options.engine === 'redis') {
    const { openRedisStore } = await import('./redis-store');
    return openRedisStore(options, signal);
  }
  const { openMemcachedStore } = await import('./memcached-store');
  return openMemcachedStore(options, signal);
}
