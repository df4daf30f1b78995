import type { z } from 'zod';
import { errorMessage } from '../../lib/errors';
import { defineCheckType } from '../check-type';
import type { Assertion, CheckContext, CheckReport } from '../types';
import { knownCodec, sessionCodecs } from './codecs';
import {
  compareContracts,
  compileReaderSchema,
  loadSessionContract,
  type ContractSource,
  type SessionContract,
  type Version,
} from './contract';
import { cookieFrameworks } from './frameworks';
import { frameworkOf, validateCookies } from './cookie-options';
import { contractKeysPart } from './contract-keys';
import { openSessionStore } from './open-store';
import { canarySchema, evictionSchema, sampleSchema, sessionOptionsSchema } from './options';
import { ms, report, type Part } from './part';
import { samplePart } from './sample';
import { sessionPreflight } from './preflight';
import { StoreError, storeLabel, type SessionStore, type StoreOptions } from './store';

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
  preflight: sessionPreflight,
  create(options, factory) {
    if (options.cookies) validateCookies(options.cookies, factory.targets, factory.fail);
    if (!options.store) {
      if (!options.cookies || !frameworkOf(options.cookies).cookieOnly)
        throw factory.fail(
          'store',
          `required unless cookies.framework keeps the session in the cookie (${Object.values(
            cookieFrameworks,
          )
            .filter((f) => f.cookieOnly)
            .map((f) => f.name)
            .join(', ')})`,
        );
      if (options.sample) throw factory.fail('sample', 'a live sample needs a store: remove `sample`');
      if (options.maxLatencyMs !== undefined)
        throw factory.fail('maxLatencyMs', 'there is no store to PING: remove maxLatencyMs');
    }
    const label = options.store ? storeLabel(options.store) : `${options.cookies!.framework} cookies`;
    let sample = options.sample === undefined ? undefined : options.sample || undefined;
    if (options.sample === undefined && options.store?.engine === 'redis' && options.contracts)
      sample = sampleSchema.parse({});
    if (options.store?.engine === 'memcached' && sample) {
      throw factory.fail(
        'sample',
        'memcached cannot list its keys, so there is no live sample: remove `sample` or set it to false',
      );
    }
    if (sample && !options.contracts && (!sample.keyPrefix || !sample.codec)) {
      throw factory.fail('sample', 'without contracts the sample needs both keyPrefix and codec');
    }
    if (sample?.codec && !knownCodec(sample.codec)) {
      throw factory.fail(
        'sample.codec',
        `unknown codec "${sample.codec}"; known: ${Object.keys(sessionCodecs).join(', ')}`,
      );
    }
    const unknownTarget = (path: string, target: string) => {
      if (!factory.targets.includes(target))
        throw factory.fail(
          path,
          `unknown target "${target}"; defined targets: ${factory.targets.join(', ')}`,
        );
    };
    for (const version of ['blue', 'green'] as const) {
      const source = options.contracts?.[version];
      if (source && 'target' in source) unknownTarget(`contracts.${version}.target`, source.target);
    }
    if (options.endToEnd) {
      unknownTarget('endToEnd.blueTarget', options.endToEnd.blueTarget);
      unknownTarget('endToEnd.greenTarget', options.endToEnd.greenTarget);
      if (!options.endToEnd.cookieName && !options.contracts)
        throw factory.fail('endToEnd.cookieName', 'expected a cookie name when no contracts are configured');
    }
    const settings = { ...options, sample };
    return {
      name: factory.name,
      type: 'session',
      run: (ctx) => runSessionCheck(factory.name, label, settings, ctx),
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
  if (options.store) {
    const opened = await reachStore(options.store, options.maxLatencyMs, ctx.signal);
    store = opened.store;
    parts.push(opened.part);
  }

  try {
    if (store && options.canary) parts.push(await canaryPart(store, options.canary, name, ctx));
    if (store && options.eviction && options.store)
      parts.push(await evictionPart(store, options.eviction, options.store.engine));
    if (options.cookies) {
      const { cookieParts } = await import('./cookie-part');
      parts.push(...(await cookieParts(options.cookies, ctx, compileReaderSchema, store)));
    }

    let contracts: Record<Version, SessionContract> | undefined;
    if (contractsPromise) {
      try {
        contracts = await contractsPromise;
        parts.push(contractPart(contracts));
        const keysPart = options.cookies?.keys && contractKeysPart(contracts, options.cookies.keys);
        if (keysPart) parts.push(keysPart);
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

/** Connects and PINGs: the store, when it answered, and the reachability part. */
async function reachStore(
  storeOptions: StoreOptions,
  maxLatencyMs: number | undefined,
  signal: AbortSignal,
): Promise<{ store: SessionStore | undefined; part: Part }> {
  let store: SessionStore | undefined;
  let part: Part;
  const t0 = performance.now();
  try {
    store = await openSessionStore(storeOptions, signal);
    const tPing = performance.now();
    await store.ping();
    const latency = performance.now() - tPing;
    const slow = maxLatencyMs !== undefined && latency > maxLatencyMs;
    part = {
      outcome: slow ? 'failed' : 'passed',
      summary: slow
        ? `PING took ${ms(latency)}, expected ≤ ${maxLatencyMs} ms`
        : `reachable (connect ${ms(tPing - t0)}, PING ${ms(latency)})`,
      assertions: [
        { what: 'store reachable', expected: 'connected', actual: 'connected', ok: true },
        ...(maxLatencyMs !== undefined
          ? [
              {
                what: 'PING latency ms',
                expected: `≤ ${maxLatencyMs}`,
                actual: Math.round(latency * 10) / 10,
                ok: !slow,
              },
            ]
          : []),
      ],
      details: { connectMs: round(tPing - t0), pingMs: round(latency) },
    };
  } catch (err) {
    part = {
      outcome: 'error',
      summary:
        err instanceof StoreError
          ? `unreachable: ${err.operation} failed after ${ms(performance.now() - t0)}: ${err.reason}`
          : `unreachable: ${errorMessage(err)}`,
      assertions: [{ what: 'store reachable', expected: 'connected', actual: errorMessage(err), ok: false }],
    };
  }
  return { store, part };
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
