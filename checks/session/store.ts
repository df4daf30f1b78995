import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import { withConnectionHint } from '../../lib/connection-hint';
import { errorMessage } from '../../lib/errors';
import { withinDeadline } from '../../lib/within-deadline';
import { tlsOptionsSchema, trustedCa, verifiedServerName } from '../../lib/tls';

const tlsSchema = z.union([z.boolean(), tlsOptionsSchema({})]);

const commonStoreFields = {
  host: z.string().min(1).describe('Endpoint host (ElastiCache primary or configuration endpoint).'),
  tls: tlsSchema
    .default(false)
    .describe(
      'TLS with certificate verification; `true` uses the system CAs. Verification cannot be switched off.',
    ),
  connectTimeoutMs: z.int().min(10).max(60_000).default(2_000),
  commandTimeoutMs: z.int().min(10).max(60_000).default(1_000),
};

/** Where the sessions live and how to reach them with production security. */
export const storeOptionsSchema = z.discriminatedUnion('engine', [
  z.strictObject({
    engine: z.literal('redis').describe('Redis or Valkey.'),
    ...commonStoreFields,
    port: z.int().min(1).max(65_535).default(6379),
    cluster: z
      .boolean()
      .default(false)
      .describe('Cluster mode: host:port is a seed (configuration endpoint).'),
    db: z.int().min(0).default(0),
    username: z.string().optional().describe('ACL user (Redis 6+).'),
    password: z.string().optional().describe('AUTH token or ACL password; use ${env:...}.'),
  }),
  z.strictObject({
    engine: z.literal('memcached'),
    ...commonStoreFields,
    port: z.int().min(1).max(65_535).default(11211),
  }),
]);

export type StoreOptions = z.output<typeof storeOptionsSchema>;

/** `redis 10.0.0.5:6379 (TLS)`: how a store is named in messages. Never includes credentials. */
export function storeLabel(options: StoreOptions): string {
  const mode = options.engine === 'redis' && options.cluster ? ' cluster' : '';
  return `${options.engine}${mode} ${options.host}:${options.port}${options.tls ? ' (TLS)' : ''}`;
}

/** Eviction evidence: what the store does when it is full and how often it already did. */
export interface EvictionStats {
  /** Redis `maxmemory_policy`; undefined for Memcached (it always evicts LRU unless started with -M). */
  policy?: string;
  /** Redis `evicted_keys`, Memcached `evictions`: since the store started, summed over nodes. */
  evictedKeys: number;
  /** Redis `used_memory`/`maxmemory` of the fullest node, when maxmemory is set. */
  memoryUse?: number;
}

/** Keys with a prefix, read back in bounded batches. */
export interface SampleLimits {
  prefix: string;
  /** Stop after this many keys were read. */
  size: number;
  /** SCAN COUNT hint: keys the server examines per call. */
  scanCount: number;
  /** Stop once this many keys were examined (calls × COUNT), summed over nodes. */
  maxKeysScanned: number;
}

/** A stored value as the store holds it: bytes for a string, fields for a hash (Spring Session). */
export type StoredValue =
  { kind: 'bytes'; bytes: Buffer } | { kind: 'hash'; fields: ReadonlyMap<string, Buffer> };

export interface SampledValue {
  key: string;
  /** undefined when the key vanished between SCAN and the read. */
  value?: StoredValue;
  /** A store error for this key (e.g. WRONGTYPE), never the value. */
  error?: string;
}

export interface SampleStats {
  /** Keys examined by the server: SCAN calls × COUNT. */
  keysScanned: number;
  scanCalls: number;
  nodes: number;
  /** True when the scan reached the end of every node's keyspace. */
  complete: boolean;
}

/**
 * The few operations the session check needs, the same for Redis and Memcached. Every call is
 * bounded by the command timeout and the check's AbortSignal.
 */
export interface SessionStore {
  readonly label: string;
  ping(): Promise<void>;
  setWithTtl(key: string, value: string, ttlSeconds: number): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /** Whether a key exists, whatever its type (a Spring Session hash included). */
  exists(key: string): Promise<boolean>;
  /** Remaining time to live, or undefined where the engine cannot tell (Memcached). */
  ttlMs(key: string): Promise<number | undefined>;
  delete(key: string): Promise<void>;
  evictionStats(): Promise<EvictionStats>;
  /** Undefined where keys cannot be listed (Memcached). */
  sample?(limits: SampleLimits, onValue: (value: SampledValue) => void): Promise<SampleStats>;
  close(): Promise<void>;
}

/** A store operation that failed; the message names the store (host:port), never its credentials. */
export class StoreError extends Error {
  constructor(
    readonly operation: string,
    readonly reason: string,
    label: string,
    options?: ErrorOptions,
  ) {
    super(`${operation} on ${label}: ${reason}`, options);
    this.name = 'StoreError';
  }
}

/**
 * The reason a connect failed, with what to change when the cause is a known misconfiguration
 * (no TLS on the server, wrong port or credentials, DNS, a certificate not trusted).
 */
export function connectReason(options: StoreOptions, reason: string, err: unknown): string {
  return withConnectionHint(reason, err, {
    kind: 'store',
    engine: options.engine,
    host: options.host,
    port: options.port,
    tls: options.tls !== false,
  });
}

/** Why an operation stopped: a timeout, the check's signal, or the store's own error. */
export async function bounded<T>(
  work: () => Promise<T>,
  what: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<T> {
  signal.throwIfAborted();
  return withinDeadline(work(), {
    signal,
    timeoutMs,
    timeoutError: () => new Error(`${what} timed out after ${timeoutMs} ms`),
    abortError: (reason) => new Error(`${what} stopped: ${errorMessage(reason)}`),
  });
}

/** Node TLS options with verification on; undefined when TLS is off. */
export async function tlsOptionsFor(options: StoreOptions): Promise<ConnectionOptions | undefined> {
  if (options.tls === false) return undefined;
  const settings = options.tls === true ? {} : options.tls;
  const ca = await trustedCa(settings);
  // SNI carries names only; an IP host is verified against the certificate's IP entries.
  const servername = verifiedServerName(settings, options.host);
  return {
    rejectUnauthorized: true,
    ...(servername ? { servername } : {}),
    ...(ca ? { ca } : {}),
  };
}
