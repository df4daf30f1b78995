import type { ValidateFunction } from 'ajv';
import { errorMessage } from '../../lib/errors';
import type { Assertion, CheckContext } from '../types';
import { schemaFailure, type Direction, type Version } from './contract';
import {
  cookieNameOf,
  frameworkOf,
  storeKeyPrefixOf,
  type CookiesOptions,
  type SampledCookies,
} from './cookie-options';
import type { CookieFramework, Verified } from './frameworks/framework';
import { crossKeys, describeKey, toSigningKeys, type SigningKey } from './keys';
import type { Part } from './part';
import type { SessionStore } from './store';

const OTHER: Record<Version, Version> = { blue: 'green', green: 'blue' };
const DIRECTION: Record<Version, Direction> = { blue: 'blue→green', green: 'green→blue' };
const CONSEQUENCE: Record<Version, string> = {
  blue: 'users logged in on blue are logged out when traffic moves to green',
  green: 'users logged in on green are logged out by a rollback or by mixed traffic',
};

/**
 * The cookie parts of the `session` check: whether each version verifies the cookies the other
 * signs, decided from the keys' fingerprints, and from a real cookie sampled from each version
 * and verified with both versions' keys. No login is needed; the end-to-end part stays as extra
 * evidence.
 */
export async function cookieParts(
  options: CookiesOptions,
  ctx: CheckContext,
  compileSchema: (schema: Record<string, unknown>, version: Version) => ValidateFunction,
  store?: SessionStore,
): Promise<Part[]> {
  const framework = frameworkOf(options);
  const keys = options.keys
    ? { blue: toSigningKeys(options.keys.blue), green: toSigningKeys(options.keys.green) }
    : undefined;
  const parts: Part[] = [];
  if (keys) parts.push(keyPart(framework, keys));
  if (options.sample) {
    const { sampleCookies } = await import('./cookie-sample');
    const sampled = await sampleCookies(options, framework, ctx);
    const schemas: Partial<Record<Version, ValidateFunction>> = {};
    try {
      for (const version of ['blue', 'green'] as const) {
        const schema = options.readerSchemas?.[version];
        if (schema) schemas[version] = compileSchema(schema, version);
      }
    } catch (err) {
      return [...parts, { outcome: 'error', summary: errorMessage(err), assertions: [] }];
    }
    const prefix = storeKeyPrefixOf(options);
    const lookup =
      store && prefix ? { prefix, exists: (id: string) => store.exists(`${prefix}${id}`) } : undefined;
    for (const version of ['blue', 'green'] as const) {
      parts.push(await samplePart(options, framework, version, sampled[version], keys, schemas, lookup));
    }
  }
  return parts;
}

function keyPart(framework: CookieFramework, keys: Record<Version, SigningKey[]>): Part {
  const assertions: Assertion[] = [];
  const problems: string[] = [];
  const notes: string[] = [];
  for (const writer of ['blue', 'green'] as const) {
    const reader = OTHER[writer];
    const crossing = crossKeys(keys[writer], keys[reader]);
    assertions.push({
      what: `cookie keys ${DIRECTION[writer]}: ${reader} verifies ${writer}'s signing key`,
      expected: `one of ${crossing.verifies}`,
      actual: crossing.signing,
      ok: crossing.ok,
    });
    if (!crossing.ok) {
      problems.push(
        `${reader} does not verify the ${framework.name} cookies ${writer} signs with ${crossing.signing} (${reader} verifies ${crossing.verifies})${crossing.relabelled ? `; ${crossing.relabelled}` : ''}: ${CONSEQUENCE[writer]}`,
      );
    } else {
      const index = keys[reader].findIndex((k) => k.fingerprint === keys[writer][0]!.fingerprint);
      notes.push(`${reader} verifies ${writer}'s ${crossing.signing}${index > 0 ? ' as a fallback' : ''}`);
    }
  }
  if (problems.length) return { outcome: 'failed', summary: problems.join('; '), assertions };
  return { outcome: 'passed', summary: `${framework.name} keys: ${notes.join('; ')}`, assertions };
}

/** Where the session a cookie names is kept: the store key prefix and a way to ask the store. */
interface StoreLookup {
  prefix: string;
  exists(id: string): Promise<boolean>;
}

async function samplePart(
  options: CookiesOptions,
  framework: CookieFramework,
  writer: Version,
  sampled: SampledCookies,
  keys: Record<Version, SigningKey[]> | undefined,
  schemas: Partial<Record<Version, ValidateFunction>>,
  lookup: StoreLookup | undefined,
): Promise<Part> {
  const reader = OTHER[writer];
  const name = cookieNameOf(options);
  const settings = {
    ...(options.salt ? { salt: options.salt } : {}),
    ...(options.keyDigest ? { keyDigest: options.keyDigest } : {}),
  };
  if (!sampled.ok) {
    return {
      outcome: sampled.outcome,
      summary: `${writer}'s cookie: ${sampled.reason}`,
      assertions: [
        { what: `${writer}'s ${name} cookie sampled`, expected: 'set', actual: sampled.reason, ok: false },
      ],
    };
  }
  const values = (list: SigningKey[] | undefined) => (list ?? []).map((k) => k.value);
  const own = framework.verify(sampled.cookie, name, values(keys?.[writer]), settings);
  const assertions: Assertion[] = [
    {
      what: `${writer}'s ${name} cookie verifies with ${writer}'s configured keys`,
      expected: 'verified',
      actual: own.ok ? 'verified' : own.reason,
      ok: own.ok,
    },
  ];
  if (!own.ok) {
    return {
      outcome: 'error',
      summary: `${writer}'s ${name} cookie (${sampled.where}) does not verify with the keys configured for ${writer} (${own.reason}): they are not the keys ${writer} runs with; update cookies.keys.${writer}`,
      assertions,
    };
  }
  if (own.sessionId !== undefined && lookup) {
    const stored = await storedSession(own.sessionId, lookup, writer, name, assertions);
    if (stored) return { ...stored, summary: `${stored.summary}: ${CONSEQUENCE[writer]}` };
  }
  if (!framework.signed) {
    return {
      outcome: 'passed',
      summary: `${writer}'s ${name} cookie ${lookup ? `names a session stored under ${lookup.prefix}` : 'carries a session id'} (${framework.name}, unsigned: nothing to share but the store)`,
      assertions,
    };
  }
  const crossed = framework.verify(sampled.cookie, name, values(keys?.[reader]), settings);
  const direction = DIRECTION[writer];
  assertions.push({
    what: `${direction}: ${reader}'s keys verify ${writer}'s sampled ${name} cookie`,
    expected: 'verified',
    actual: crossed.ok ? `verified${fallbackNote(crossed, keys?.[reader])}` : crossed.reason,
    ok: crossed.ok,
  });
  if (!crossed.ok) {
    return {
      outcome: 'failed',
      summary: `${direction}: ${reader} rejects the ${name} cookie ${writer} sets (${crossed.reason}): ${CONSEQUENCE[writer]}`,
      assertions,
    };
  }
  const validate = schemas[reader];
  const payloadNote = checkPayload(crossed, validate, direction, reader, name, assertions);
  if (payloadNote.failed) {
    return { outcome: 'failed', summary: `${payloadNote.text}: ${CONSEQUENCE[writer]}`, assertions };
  }
  return {
    outcome: 'passed',
    summary: `${direction}: ${reader} verifies the ${name} cookie ${writer} sets${fallbackNote(crossed, keys?.[reader])}${payloadNote.text ? `; ${payloadNote.text}` : ''}`,
    assertions,
  };
}

/** Whether the session a cookie names is in the store; a Part only when it is not (or the store failed). */
async function storedSession(
  id: string,
  lookup: StoreLookup,
  writer: Version,
  name: string,
  assertions: Assertion[],
): Promise<Part | undefined> {
  const what = `${writer}'s ${name} cookie names a session stored under ${lookup.prefix}`;
  let found: boolean;
  try {
    found = await lookup.exists(id);
  } catch (err) {
    assertions.push({ what, expected: 'present', actual: errorMessage(err), ok: false });
    return {
      outcome: 'error',
      summary: `could not look up ${writer}'s session: ${errorMessage(err)}`,
      assertions,
    };
  }
  assertions.push({ what, expected: 'present', actual: found ? 'present' : 'missing', ok: found });
  if (found) return undefined;
  return {
    outcome: 'failed',
    summary: `${DIRECTION[writer]}: the session ${writer}'s ${name} cookie names is not in the store under ${lookup.prefix}, so ${OTHER[writer]} cannot find it`,
    assertions,
  };
}

function fallbackNote(verified: Verified, keys: SigningKey[] | undefined): string {
  if (!verified.ok || verified.keyIndex === 0) return '';
  const key = keys?.[verified.keyIndex];
  return ` (with its fallback key${key ? ` ${describeKey(key)}` : ''})`;
}

function checkPayload(
  verified: Extract<Verified, { ok: true }>,
  validate: ValidateFunction | undefined,
  direction: Direction,
  reader: Version,
  name: string,
  assertions: Assertion[],
): { failed: boolean; text: string } {
  if (verified.opaque) return { failed: false, text: `payload opaque: ${verified.opaque}` };
  if (!validate || verified.payload === undefined) return { failed: false, text: '' };
  const ok = validate(verified.payload);
  const why = ok ? 'accepted' : schemaFailure(validate);
  assertions.push({
    what: `${direction}: the ${name} cookie's session against ${reader}'s reader schema`,
    expected: 'accepted',
    actual: why,
    ok,
  });
  return ok
    ? { failed: false, text: `its session passes ${reader}'s reader schema` }
    : {
        failed: true,
        text: `${direction}: ${reader}'s reader schema rejects the session in the ${name} cookie (${why})`,
      };
}
