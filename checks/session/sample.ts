import type { z } from 'zod';
import { errorMessage } from '../../lib/errors';
import type { Assertion } from '../types';
import { knownCodec, sessionCodecs } from './codecs';
import {
  acceptedCodecs,
  readerValidator,
  schemaFailure,
  type SessionContract,
  type Version,
} from './contract';
import type { sampleSchema } from './options';
import { percent, type Part } from './part';
import type { SessionStore } from './store';

/**
 * The live sample: a bounded scan of stored sessions under the key prefix, each decoded the way
 * green will (its codecs, its reader schema); fails when more than `maxFailureRate` cannot be read.
 */
export async function samplePart(
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
  let skipped = 0;
  const opaque = new Map<string, number>();
  const reasons = new Map<string, number>();
  const fail = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  let stats;
  try {
    stats = await store.sample(
      { prefix, size: sample.size, scanCount: sample.scanCount, maxKeysScanned: sample.maxKeysScanned },
      ({ key, value, error }) => {
        if (error) {
          read++;
          return fail(`store error ${error}`);
        }
        if (value === undefined) {
          vanished++;
          return;
        }
        let firstFailure: string | undefined;
        let firstOpaque: string | undefined;
        for (const decode of codecs) {
          const decoded = decode(value, key);
          if (!decoded.ok) {
            firstFailure ??= decoded.reason;
            continue;
          }
          if ('notSession' in decoded) {
            skipped++;
            return;
          }
          if ('opaque' in decoded) {
            firstOpaque ??= decoded.opaque;
            continue;
          }
          if (validate && !validate(decoded.value)) {
            firstFailure ??= `rejected by green's reader schema: ${schemaFailure(validate)}`;
            continue;
          }
          read++;
          return;
        }
        read++;
        // Identified but never deserialized: readable by the framework, not checked by greenlight.
        if (firstOpaque) {
          opaque.set(firstOpaque, (opaque.get(firstOpaque) ?? 0) + 1);
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
      notSessions: skipped,
      opaque: Object.fromEntries(opaque),
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
  const opaqueCount = [...opaque.values()].reduce((a, b) => a + b, 0);
  const opaqueNote = opaqueCount
    ? `; ${opaqueCount} opaque, not decoded or checked against a reader schema: ${[...opaque.keys()].join(', ')}`
    : '';
  const summary = `sampled ${read} sessions under ${JSON.stringify(prefix)}: ${failed} (${percent(rate)}) not readable by green${why ? ` (${why})` : ''}, max ${percent(sample.maxFailureRate)}${opaqueNote}`;
  return { outcome: ok ? 'passed' : 'failed', summary, assertions, details };
}
