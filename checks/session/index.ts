import { z } from 'zod';
import { errorMessage } from '../../lib/errors';
import { defineCheckType } from '../check-type';
import { knownCodec, sessionCodecs } from './codecs';
import { endToEndSchema } from './end-to-end';
import {
  acceptedCodecs,
  compareContracts,
  loadSessionContract,
  readerValidator,
  schemaFailure,
  sessionContractSchema,
  type ContractSource,
  type SessionContract,
  type Version,
} from './contract';
import { StoreError, storeLabel, storeOptionsSchema, type SessionStore } from './store';
import { openSessionStore } from './open-store';
import type { Assertion, CheckContext, CheckReport, Outcome } from '../types';
import { worstOutcome } from '../verdict';

const DEFAULT_RISKY_POLICIES = ['allkeys-lru', 'allkeys-lfu', 'allkeys-random'];

// One object with exclusive keys rather than a union, so an error inside an inline contract
// names its own field instead of "none of the alternatives matched".
const contractSourceSchema = z
  .strictObject({
    inline: sessionContractSchema.optional().describe('The contract itself.'),
    file: z.string().min(1).optional().describe('Path of a JSON contract file shipped with the hook.'),
    target: z
      .string()
      .min(1)
      .optional()
      .describe('Named target serving the contract (blue: `prod`, green: `test`).'),
    path: z
      .string()
      .startsWith('/', { error: 'expected a path starting with "/"' })
      .optional()
      .describe('Path of the contract on that target (default `/.well-known/greenlight/session.json`).'),
  })
  .superRefine((source, ctx) => {
    const given = (['inline', 'file', 'target'] as const).filter((k) => source[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one of inline, file, target${given.length ? `, got ${given.join(' and ')}` : ''}`,
      });
    }
    if (source.path !== undefined && source.target === undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'path needs a target' });
    }
  })
  .transform((source): ContractSource => {
    if (source.inline !== undefined) return { inline: source.inline };
    if (source.file !== undefined) return { file: source.file };
    return { target: source.target!, path: source.path ?? '/.well-known/greenlight/session.json' };
  });

const canarySchema = z.strictObject({
  keyPrefix: z
    .string()
    .min(1)
    .default('greenlight:canary:')
    .describe('Prefix of the canary key; the deployment id, check name and lifecycle event follow.'),
  ttlSeconds: z
    .int()
    .min(1)
    .max(3_600)
    .default(60)
    .describe('The canary expires by itself if the hook dies before deleting it.'),
});

const evictionSchema = z.strictObject({
  riskyPolicies: z
    .array(z.string().min(1))
    .default(DEFAULT_RISKY_POLICIES)
    .describe('Redis maxmemory policies that may evict live sessions.'),
  maxEvictedKeys: z
    .int()
    .min(0)
    .optional()
    .describe('Evictions since the store started above which it is a risk.'),
  onRisk: z
    .enum(['fail', 'warn'])
    .default('fail')
    .describe('`fail`: a risk fails the check; `warn`: it is reported, and the check can still pass.'),
});

const sampleSchema = z.strictObject({
  size: z.int().min(1).max(100_000).default(200).describe('Session keys read at most.'),
  scanCount: z.int().min(10).max(100_000).default(1_000).describe('SCAN COUNT hint per call.'),
  maxKeysScanned: z
    .int()
    .min(10)
    .default(100_000)
    .describe(
      'Keys the server may examine in all (SCAN calls × COUNT, over all nodes): the sample never scans the whole store.',
    ),
  maxFailureRate: z
    .number()
    .min(0)
    .max(1)
    .default(0.01)
    .describe('Share of sampled sessions green may fail to read, 0–1.'),
  keyPrefix: z.string().min(1).optional().describe('Prefix to sample; default: blue’s contract keyPrefix.'),
  codec: z
    .string()
    .min(1)
    .optional()
    .describe(
      `Codec to decode with (${Object.keys(sessionCodecs).join(', ')}); default: green’s accepted codecs.`,
    ),
  whenEmpty: z
    .enum(['inconclusive', 'pass'])
    .default('inconclusive')
    .describe('What a sample with no session keys counts as.'),
});

/** The `session` check's options. */
export const sessionOptionsSchema = z.strictObject({
  store: storeOptionsSchema,
  maxLatencyMs: z.int().min(1).optional().describe('Slowest acceptable PING round trip.'),
  contracts: z
    .strictObject({ blue: contractSourceSchema, green: contractSourceSchema })
    .optional()
    .describe('Where blue’s and green’s session contracts come from.'),
  canary: z
    .union([z.literal(false), canarySchema])
    .default({ keyPrefix: 'greenlight:canary:', ttlSeconds: 60 }),
  eviction: z
    .union([z.literal(false), evictionSchema])
    .default({ riskyPolicies: DEFAULT_RISKY_POLICIES, onRisk: 'fail' }),
  sample: z
    .union([z.literal(false), sampleSchema])
    .optional()
    .describe(
      'Live sample of stored sessions (Redis only). Default: on for Redis when contracts are configured.',
    ),
  endToEnd: endToEndSchema
    .optional()
    .describe(
      'Log in on one version and use the session on the other, both ways (through the http check’s request code).',
    ),
});

/** One part of the check (reachability, canary, ...) and what it found. */
interface Part {
  outcome: Outcome;
  /** A short phrase for the one-line message. */
  summary: string;
  assertions: Assertion[];
  details?: Record<string, unknown>;
}

const SEVERITY: Record<Outcome, number> = { passed: 0, inconclusive: 1, error: 2, failed: 3 };

function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate < 0.1 && rate > 0 ? 1 : 0)}%`;
}

/**
 * The `session` check: whether users' sessions survive the move from blue to green and a
 * rollback. It reaches the session store with production security, writes and deletes a
 * canary, reports eviction risks, compares blue's and green's session contracts in both
 * directions, and decodes a bounded live sample of stored sessions the way green will.
 * Session values are never logged or reported.
 */
export const sessionCheckType = defineCheckType({
  type: 'session',
  summary:
    'Session-store compatibility between blue and green: store, canary, eviction, contracts and a live sample.',
  options: sessionOptionsSchema,
  create(options, ctx) {
    const label = storeLabel(options.store);
    let sample = options.sample === undefined ? undefined : options.sample || undefined;
    if (options.sample === undefined && options.store.engine === 'redis' && options.contracts)
      sample = sampleSchema.parse({});
    if (options.store.engine === 'memcached' && sample) {
      throw ctx.fail(
        'sample',
        'memcached cannot list its keys, so there is no live sample: remove `sample` or set it to false',
      );
    }
    if (sample && !options.contracts && (!sample.keyPrefix || !sample.codec)) {
      throw ctx.fail('sample', 'without contracts the sample needs both keyPrefix and codec');
    }
    if (sample?.codec && !knownCodec(sample.codec)) {
      throw ctx.fail(
        'sample.codec',
        `unknown codec "${sample.codec}"; known: ${Object.keys(sessionCodecs).join(', ')}`,
      );
    }
    const unknownTarget = (path: string, target: string) => {
      if (!ctx.targets.includes(target))
        throw ctx.fail(path, `unknown target "${target}"; defined targets: ${ctx.targets.join(', ')}`);
    };
    for (const version of ['blue', 'green'] as const) {
      const source = options.contracts?.[version];
      if (source && 'target' in source) unknownTarget(`contracts.${version}.target`, source.target);
    }
    if (options.endToEnd) {
      unknownTarget('endToEnd.blueTarget', options.endToEnd.blueTarget);
      unknownTarget('endToEnd.greenTarget', options.endToEnd.greenTarget);
      if (!options.endToEnd.cookieName && !options.contracts)
        throw ctx.fail('endToEnd.cookieName', 'expected a cookie name when no contracts are configured');
    }
    const settings = { ...options, sample };
    return {
      name: ctx.name,
      type: 'session',
      run: (runCtx) => runSessionCheck(ctx.name, label, settings, runCtx),
    };
  },
});

type Options = z.output<typeof sessionOptionsSchema>;
type Settings = Omit<Options, 'sample'> & { sample: z.output<typeof sampleSchema> | undefined };

async function runSessionCheck(
  name: string,
  label: string,
  options: Settings,
  ctx: CheckContext,
): Promise<CheckReport> {
  const parts: Part[] = [];
  const contractsPromise = options.contracts ? loadContracts(options.contracts, ctx) : undefined;
  // Contracts load while the store connects; a failure is collected, not thrown.
  contractsPromise?.catch(() => {});

  let store: SessionStore | undefined;
  const t0 = performance.now();
  try {
    store = await openSessionStore(options.store, ctx.signal);
    const tPing = performance.now();
    await store.ping();
    const latency = performance.now() - tPing;
    const slow = options.maxLatencyMs !== undefined && latency > options.maxLatencyMs;
    parts.push({
      outcome: slow ? 'failed' : 'passed',
      summary: slow
        ? `PING took ${ms(latency)}, expected ≤ ${options.maxLatencyMs} ms`
        : `reachable (connect ${ms(tPing - t0)}, PING ${ms(latency)})`,
      assertions: [
        { what: 'store reachable', expected: 'connected', actual: 'connected', ok: true },
        ...(options.maxLatencyMs !== undefined
          ? [
              {
                what: 'PING latency ms',
                expected: `≤ ${options.maxLatencyMs}`,
                actual: Math.round(latency * 10) / 10,
                ok: !slow,
              },
            ]
          : []),
      ],
      details: { connectMs: round(tPing - t0), pingMs: round(latency) },
    });
  } catch (err) {
    parts.push({
      outcome: 'error',
      summary:
        err instanceof StoreError
          ? `unreachable: ${err.operation} failed after ${ms(performance.now() - t0)}: ${err.reason}`
          : `unreachable: ${errorMessage(err)}`,
      assertions: [{ what: 'store reachable', expected: 'connected', actual: errorMessage(err), ok: false }],
    });
  }

  try {
    if (store && options.canary) parts.push(await canaryPart(store, options.canary, name, ctx));
    if (store && options.eviction)
      parts.push(await evictionPart(store, options.eviction, options.store.engine));

    let contracts: Record<Version, SessionContract> | undefined;
    if (contractsPromise) {
      try {
        contracts = await contractsPromise;
        parts.push(contractPart(contracts));
      } catch (err) {
        parts.push({
          outcome: 'error',
          summary: `could not read the session contracts: ${errorMessage(err)}`,
          assertions: [
            {
              what: 'session contracts',
              expected: 'blue and green loaded',
              actual: errorMessage(err),
              ok: false,
            },
          ],
        });
      }
    }
    if (store && options.sample && (contracts || !options.contracts)) {
      parts.push(await samplePart(store, options.sample, contracts));
    }
    if (options.endToEnd && (contracts || !options.contracts)) {
      const { runEndToEnd } = await import('./end-to-end');
      const cookieNames = { blue: contracts?.blue.cookieName, green: contracts?.green.cookieName };
      parts.push(...(await runEndToEnd(options.endToEnd, cookieNames, ctx)));
    }
  } finally {
    await store?.close().catch(() => {});
  }

  return report(label, parts);
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

async function loadContracts(
  sources: { blue: ContractSource; green: ContractSource },
  ctx: CheckContext,
): Promise<Record<Version, SessionContract>> {
  const fetchJson = async (source: { target: string; path: string }) => {
    const { fetchJsonFromTarget } = await import('./end-to-end');
    return fetchJsonFromTarget(source, ctx);
  };
  const load = (version: Version) =>
    loadSessionContract(sources[version], `${version}'s session contract`, fetchJson).catch(
      (err: unknown) => {
        throw new Error(`${version}: ${errorMessage(err)}`, { cause: err });
      },
    );
  const [blue, green] = await Promise.all([load('blue'), load('green')]);
  return { blue, green };
}

async function canaryPart(
  store: SessionStore,
  canary: z.output<typeof canarySchema>,
  name: string,
  ctx: CheckContext,
): Promise<Part> {
  // Same key and value on every run of this deployment's hook: a second delivery overwrites
  // what a first, crashed run may have left, and the TTL removes it if nobody does.
  const deployment = ctx.deployment.deploymentId ?? 'no-deployment';
  const key = `${canary.keyPrefix}${deployment}:${name}:${ctx.deployment.lifecycleEvent}`;
  const value = `greenlight canary ${deployment}`;
  const assertions: Assertion[] = [];
  const t0 = performance.now();
  try {
    await store.setWithTtl(key, value, canary.ttlSeconds);
    const read = await store.get(key);
    const readOk = read === value;
    assertions.push({
      what: `canary ${key} read back`,
      expected: 'the value written',
      actual: read === undefined ? 'missing' : readOk ? 'the value written' : 'a different value',
      ok: readOk,
    });
    const ttl = await store.ttlMs(key);
    if (ttl !== undefined) {
      const ttlOk = ttl > 0 && ttl <= canary.ttlSeconds * 1000;
      assertions.push({
        what: `canary ${key} TTL ms`,
        expected: `1–${canary.ttlSeconds * 1000}`,
        actual: ttl,
        ok: ttlOk,
      });
    }
    await store.delete(key);
    const gone = (await store.get(key)) === undefined;
    assertions.push({
      what: `canary ${key} deleted`,
      expected: 'missing after delete',
      actual: gone ? 'missing after delete' : 'still present',
      ok: gone,
    });
  } catch (err) {
    assertions.push({
      what: `canary ${key}`,
      expected: 'write, read and delete',
      actual: errorMessage(err),
      ok: false,
    });
    return { outcome: 'error', summary: `canary failed: ${errorMessage(err)}`, assertions };
  }
  const bad = assertions.find((a) => !a.ok);
  return bad
    ? {
        outcome: 'failed',
        summary: `canary ${bad.what.replace(/^canary \S+ /, '')}: expected ${bad.expected}, got ${String(bad.actual)}`,
        assertions,
      }
    : {
        outcome: 'passed',
        summary: `canary write/read/delete ok (${ms(performance.now() - t0)})`,
        assertions,
      };
}

async function evictionPart(
  store: SessionStore,
  eviction: z.output<typeof evictionSchema>,
  engine: 'redis' | 'memcached',
): Promise<Part> {
  let stats;
  try {
    stats = await store.evictionStats();
  } catch (err) {
    return {
      outcome: 'error',
      summary: `could not read eviction settings: ${errorMessage(err)}`,
      assertions: [{ what: 'eviction settings', expected: 'readable', actual: errorMessage(err), ok: false }],
    };
  }
  const assertions: Assertion[] = [];
  const risks: string[] = [];
  if (engine === 'redis') {
    const risky = stats.policy !== undefined && eviction.riskyPolicies.includes(stats.policy);
    assertions.push({
      what: 'maxmemory-policy',
      expected: `not ${eviction.riskyPolicies.join(', ')}`,
      actual: stats.policy ?? 'unknown',
      ok: !risky,
    });
    if (risky) risks.push(`maxmemory-policy ${stats.policy} evicts live sessions when memory is full`);
  }
  const evictedKey = engine === 'redis' ? 'evicted_keys' : 'evictions';
  if (eviction.maxEvictedKeys !== undefined) {
    const tooMany = stats.evictedKeys > eviction.maxEvictedKeys;
    assertions.push({
      what: evictedKey,
      expected: `≤ ${eviction.maxEvictedKeys}`,
      actual: stats.evictedKeys,
      ok: !tooMany,
    });
    if (tooMany)
      risks.push(
        `${evictedKey} is ${stats.evictedKeys}, above ${eviction.maxEvictedKeys}: the store already evicts`,
      );
  }
  const details = { eviction: { ...stats } };
  const evidence = `${engine === 'redis' ? `maxmemory-policy ${stats.policy ?? 'unknown'}, ` : ''}${evictedKey} ${stats.evictedKeys}`;
  if (risks.length === 0) return { outcome: 'passed', summary: evidence, assertions, details };
  if (eviction.onRisk === 'warn')
    return { outcome: 'passed', summary: `eviction risk (warn): ${risks.join('; ')}`, assertions, details };
  return { outcome: 'failed', summary: `eviction risk: ${risks.join('; ')}`, assertions, details };
}

function contractPart(contracts: Record<Version, SessionContract>): Part {
  let findings;
  try {
    findings = compareContracts(contracts);
  } catch (err) {
    return {
      outcome: 'error',
      summary: errorMessage(err),
      assertions: [
        { what: 'session contracts', expected: 'comparable', actual: errorMessage(err), ok: false },
      ],
    };
  }
  const assertions = findings.map(({ what, expected, actual, ok }) => ({ what, expected, actual, ok }));
  const failures = findings.filter((f) => !f.ok);
  const broken = [...new Set(failures.flatMap((f) => f.breaks))];
  const details = { contracts: { brokenDirections: broken } };
  if (failures.length === 0) {
    const { blue } = contracts;
    return {
      outcome: 'passed',
      summary: `blue and green agree in both directions (prefix ${JSON.stringify(blue.keyPrefix)}, cookie ${JSON.stringify(blue.cookieName)}, codec ${blue.codec})`,
      assertions,
      details,
    };
  }
  return { outcome: 'failed', summary: failures.map((f) => f.problem).join('; '), assertions, details };
}

async function samplePart(
  store: SessionStore,
  sample: z.output<typeof sampleSchema>,
  contracts: Record<Version, SessionContract> | undefined,
): Promise<Part> {
  if (!store.sample) {
    return {
      outcome: 'inconclusive',
      summary: 'this store cannot list its keys: no live sample',
      assertions: [],
    };
  }
  const prefix = sample.keyPrefix ?? contracts!.blue.keyPrefix;
  const codecNames = sample.codec ? [sample.codec] : acceptedCodecs(contracts!.green);
  const codecs = codecNames.map((n) => knownCodec(n)).filter((c) => c !== undefined);
  if (codecs.length === 0) {
    return {
      outcome: 'inconclusive',
      summary: `green's codec ${codecNames.join(', ')} cannot be decoded here (known: ${Object.keys(sessionCodecs).join(', ')}); set sample.codec or sample: false`,
      assertions: [],
    };
  }
  let validate;
  try {
    validate = contracts ? readerValidator(contracts.green, 'green') : undefined;
  } catch (err) {
    return { outcome: 'error', summary: errorMessage(err), assertions: [] };
  }

  let read = 0;
  let vanished = 0;
  const reasons = new Map<string, number>();
  const fail = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  let stats;
  try {
    stats = await store.sample(
      { prefix, size: sample.size, scanCount: sample.scanCount, maxKeysScanned: sample.maxKeysScanned },
      ({ value, error }) => {
        if (error) {
          read++;
          return fail(`store error ${error}`);
        }
        if (value === undefined) {
          vanished++;
          return;
        }
        read++;
        let firstFailure: string | undefined;
        for (const decode of codecs) {
          const decoded = decode(value);
          if (!decoded.ok) {
            firstFailure ??= decoded.reason;
            continue;
          }
          if (validate && !validate(decoded.value)) {
            firstFailure ??= `rejected by green's reader schema: ${schemaFailure(validate)}`;
            continue;
          }
          return;
        }
        fail(firstFailure ?? 'not readable');
      },
    );
  } catch (err) {
    return {
      outcome: 'error',
      summary: `live sample under ${JSON.stringify(prefix)} failed: ${errorMessage(err)}`,
      assertions: [{ what: 'live sample', expected: 'completed', actual: errorMessage(err), ok: false }],
    };
  }
  const failed = [...reasons.values()].reduce((a, b) => a + b, 0);
  const rate = read === 0 ? 0 : failed / read;
  const details = {
    sample: {
      prefix,
      codecs: codecNames,
      read,
      failed,
      vanished,
      failureRate: rate,
      reasons: Object.fromEntries(reasons),
      keysScanned: stats.keysScanned,
      maxKeysScanned: sample.maxKeysScanned,
      scanCalls: stats.scanCalls,
      nodes: stats.nodes,
      complete: stats.complete,
    },
  };
  if (read === 0) {
    const summary = `no session keys under ${JSON.stringify(prefix)} to sample (${stats.keysScanned} keys examined${stats.complete ? ', whole keyspace' : ''})`;
    return {
      outcome: sample.whenEmpty === 'pass' ? 'passed' : 'inconclusive',
      summary,
      assertions: [],
      details,
    };
  }
  const ok = rate <= sample.maxFailureRate;
  const assertions: Assertion[] = [
    {
      what: `live sessions under ${JSON.stringify(prefix)} green cannot read`,
      expected: `≤ ${percent(sample.maxFailureRate)}`,
      actual: `${failed} of ${read} (${percent(rate)})`,
      ok,
    },
  ];
  const why = [...reasons.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([reason, count]) => `${count} ${reason}`)
    .join(', ');
  const summary = `sampled ${read} sessions under ${JSON.stringify(prefix)}: ${failed} (${percent(rate)}) not readable by green${why ? ` (${why})` : ''}, max ${percent(sample.maxFailureRate)}`;
  return { outcome: ok ? 'passed' : 'failed', summary, assertions, details };
}

function report(label: string, parts: Part[]): CheckReport {
  const outcome = worstOutcome(parts.map((p) => p.outcome));
  const shown =
    outcome === 'passed'
      ? parts
      : [...parts]
          .filter((p) => p.outcome !== 'passed')
          .sort((a, b) => SEVERITY[b.outcome] - SEVERITY[a.outcome]);
  const message = `${label}: ${shown.map((p) => p.summary).join('; ')}`;
  const details: Record<string, unknown> = {};
  for (const part of parts) Object.assign(details, part.details);
  return {
    outcome,
    message,
    assertions: parts.flatMap((p) => p.assertions),
    ...(Object.keys(details).length ? { details } : {}),
  };
}
