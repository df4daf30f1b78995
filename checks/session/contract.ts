import { readFile } from 'node:fs/promises';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { z } from 'zod';
import { formatIssue } from '../../lib/config-issues';
import { errorMessage } from '../../lib/errors';
import type { Assertion } from '../types';
import { crossKeys } from './keys';

/**
 * What one app version says about its sessions: where it keeps them, how it names and signs the
 * cookie, how it serialises them, and what it accepts when it reads one. Key ids only: a
 * contract never carries a signing secret.
 */
export const sessionContractSchema = z.strictObject({
  store: z.enum(['redis', 'memcached']).optional().describe('The store engine the version uses.'),
  keyPrefix: z
    .string()
    .min(1)
    .describe('The effective key prefix of a session, e.g. `sess:` (connect-redis).'),
  cookieName: z.string().min(1).describe('The session cookie name, e.g. `connect.sid`.'),
  codec: z
    .string()
    .min(1)
    .describe('The serializer the version writes with, e.g. `json` or `express-session`.'),
  acceptsCodecs: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Serializers the version can read; defaults to `[codec]`.'),
  signingKeyIds: z
    .array(z.string().min(1))
    .default([])
    .describe('Ids of the cookie signing secrets in the app’s order: the first signs, all of them verify.'),
  signingKeys: z
    .array(
      z.strictObject({
        label: z.string().min(1).optional().describe('A name for humans, never compared.'),
        fingerprint: z
          .string()
          .regex(/^[0-9a-f]{16}$/, { error: 'expected 16 lowercase hex digits (see key fingerprints)' })
          .describe(
            'The key’s fingerprint: HMAC-SHA256(secret, "greenlight session key fingerprint v1"), first 16 hex digits.',
          ),
      }),
    )
    .optional()
    .describe(
      'The signing keys by fingerprint, in the app’s order; compared instead of signingKeyIds when both versions give them.',
    ),
  ttlSeconds: z.int().positive().optional(),
  writerSamples: z.array(z.unknown()).default([]).describe('Decoded session payloads the version writes.'),
  readerSchema: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('JSON Schema a decoded session must satisfy for the version to accept it.'),
});

export type SessionContract = z.output<typeof sessionContractSchema>;

/** A contract document may be the session contract itself or a version contract with a `session` part. */
export function parseSessionContract(document: unknown, source: string): SessionContract {
  const inner =
    document !== null && typeof document === 'object' && !Array.isArray(document) && 'session' in document
      ? (document as { session: unknown }).session
      : document;
  const parsed = sessionContractSchema.safeParse(inner, { reportInput: true });
  if (!parsed.success) {
    throw new Error(
      `${source}: invalid session contract: ${parsed.error.issues.map(formatIssue).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Where a version's contract comes from. */
export type ContractSource = { inline: unknown } | { file: string } | { target: string; path: string };

export function describeSource(source: ContractSource, targets: Readonly<Record<string, URL>>): string {
  if ('inline' in source) return 'inline contract';
  if ('file' in source) return source.file;
  const base = targets[source.target];
  return base ? new URL(source.path, base).href : `${source.target}${source.path}`;
}

/** Reads a contract from the config or a file; `fetchJson` serves contracts the apps publish. */
export async function loadSessionContract(
  source: ContractSource,
  where: string,
  fetchJson: (source: { target: string; path: string }) => Promise<unknown>,
): Promise<SessionContract> {
  if ('inline' in source) return parseSessionContract(source.inline, where);
  if ('file' in source) {
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${source.file}: ${errorMessage(err)}`, { cause: err });
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new Error(`${source.file} is not valid JSON`);
    }
    return parseSessionContract(document, where);
  }
  return parseSessionContract(await fetchJson(source), where);
}

export type Version = 'blue' | 'green';
export type Direction = 'blue→green' | 'green→blue';

/** One way a session crosses versions: written by `writer`, read by `reader`. */
interface Crossing {
  direction: Direction;
  writer: Version;
  reader: Version;
  /** What breaks when this direction fails. */
  consequence: string;
}

const CROSSINGS: readonly Crossing[] = [
  {
    direction: 'blue→green',
    writer: 'blue',
    reader: 'green',
    consequence: 'users logged in on blue are logged out when traffic moves to green',
  },
  {
    direction: 'green→blue',
    writer: 'green',
    reader: 'blue',
    consequence: 'users logged in on green are logged out by a rollback or by mixed traffic',
  },
];

export function acceptedCodecs(contract: SessionContract): string[] {
  return contract.acceptsCodecs ?? [contract.codec];
}

const ajv = new Ajv({ allErrors: false, strict: false });
addFormats(ajv);
const compiled = new WeakMap<object, ValidateFunction>();

/** Compiles a reader schema once per contract object. Throws when the schema itself is invalid. */
export function readerValidator(contract: SessionContract, version: Version): ValidateFunction | undefined {
  const schema = contract.readerSchema;
  return schema ? compileReaderSchema(schema, version) : undefined;
}

/** Compiles a version's reader schema once per schema object. Throws when the schema itself is invalid. */
export function compileReaderSchema(schema: Record<string, unknown>, version: Version): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    try {
      validate = ajv.compile(schema);
    } catch (err) {
      throw new Error(`${version}'s readerSchema is not a valid JSON Schema: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    compiled.set(schema, validate);
  }
  return validate;
}

/**
 * Why a payload fails a reader schema, naming the place and the rule but never the value (a
 * session payload is personal data).
 */
export function schemaFailure(validate: ValidateFunction): string {
  const first = validate.errors?.[0];
  if (!first) return 'rejected by the reader schema';
  return `${first.instancePath || '(root)'} ${first.message ?? first.keyword}`;
}

/** The evidence for one contract comparison, plus a short phrase for the check's message. */
export interface ContractFinding extends Assertion {
  /** Which direction(s) it breaks; both for a symmetric mismatch. */
  breaks: Direction[];
  /** Short phrase used in the one-line message when it fails. */
  problem?: string;
}

/**
 * Compares blue's and green's contracts (R4 to R8): key prefix and cookie name must be the same;
 * each reader must accept the other's codec, verify the other's signing key and accept the
 * other's writer samples. Returns one finding per rule and direction.
 */
export function compareContracts(contracts: Record<Version, SessionContract>): ContractFinding[] {
  const { blue, green } = contracts;
  const findings: ContractFinding[] = [];
  const both: Direction[] = ['blue→green', 'green→blue'];

  const prefixOk = blue.keyPrefix === green.keyPrefix;
  findings.push({
    what: 'key prefix (blue vs green)',
    expected: blue.keyPrefix,
    actual: green.keyPrefix,
    ok: prefixOk,
    breaks: prefixOk ? [] : both,
    problem: `key prefix changed from ${JSON.stringify(blue.keyPrefix)} to ${JSON.stringify(green.keyPrefix)}: each version cannot see the other's sessions (mass logout at the shift and at a rollback)`,
  });

  const cookieOk = blue.cookieName === green.cookieName;
  findings.push({
    what: 'cookie name (blue vs green)',
    expected: blue.cookieName,
    actual: green.cookieName,
    ok: cookieOk,
    breaks: cookieOk ? [] : both,
    problem: `session cookie renamed from ${JSON.stringify(blue.cookieName)} to ${JSON.stringify(green.cookieName)}: browsers keep sending the old name (mass logout)`,
  });

  for (const crossing of CROSSINGS) {
    const writer = contracts[crossing.writer];
    const reader = contracts[crossing.reader];
    const accepts = acceptedCodecs(reader);
    const codecOk = accepts.includes(writer.codec);
    findings.push({
      what: `codec ${crossing.direction}: ${crossing.reader} reads ${crossing.writer}'s codec`,
      expected: `one of ${accepts.join(', ')}`,
      actual: writer.codec,
      ok: codecOk,
      breaks: codecOk ? [] : [crossing.direction],
      problem: `${crossing.reader} cannot read ${crossing.writer}'s ${writer.codec} sessions (accepts ${accepts.join(', ')}): ${crossing.consequence}`,
    });

    if (writer.signingKeys && reader.signingKeys) {
      const crossed = crossKeys(writer.signingKeys, reader.signingKeys);
      findings.push({
        what: `signing key ${crossing.direction}: ${crossing.reader} verifies ${crossing.writer}'s signing key`,
        expected: `one of ${crossed.verifies}`,
        actual: crossed.signing,
        ok: crossed.ok,
        breaks: crossed.ok ? [] : [crossing.direction],
        problem: `${crossing.reader} does not verify ${crossing.writer}'s signing key ${crossed.signing} (verifies ${crossed.verifies})${crossed.relabelled ? `; ${crossed.relabelled}` : ''}: ${crossing.consequence}`,
      });
    }
    const signingKey = writer.signingKeyIds[0];
    if (
      !(writer.signingKeys && reader.signingKeys) &&
      (signingKey !== undefined || reader.signingKeyIds.length > 0)
    ) {
      const signOk = signingKey !== undefined && reader.signingKeyIds.includes(signingKey);
      findings.push({
        what: `signing key ${crossing.direction}: ${crossing.reader} verifies ${crossing.writer}'s signing key`,
        expected: `one of ${reader.signingKeyIds.join(', ') || '(none)'}`,
        actual: signingKey ?? '(unsigned)',
        ok: signOk,
        breaks: signOk ? [] : [crossing.direction],
        problem: `${crossing.reader} does not verify ${crossing.writer}'s signing key ${signingKey ?? '(unsigned)'} (verifies ${reader.signingKeyIds.join(', ') || 'none'}): ${crossing.consequence}`,
      });
    }

    const validate = readerValidator(reader, crossing.reader);
    if (validate && writer.writerSamples.length > 0) {
      const rejected: string[] = [];
      writer.writerSamples.forEach((sample, i) => {
        if (!validate(sample)) rejected.push(`sample ${i + 1}: ${schemaFailure(validate)}`);
      });
      const ok = rejected.length === 0;
      findings.push({
        what: `payload ${crossing.direction}: ${crossing.writer}'s writer samples against ${crossing.reader}'s reader schema`,
        expected: `${writer.writerSamples.length} of ${writer.writerSamples.length} accepted`,
        actual: ok
          ? `${writer.writerSamples.length} accepted`
          : `${rejected.length} rejected (${rejected.slice(0, 3).join('; ')})`,
        ok,
        breaks: ok ? [] : [crossing.direction],
        problem: `${crossing.reader} rejects ${rejected.length} of ${writer.writerSamples.length} of ${crossing.writer}'s session samples (${rejected[0]}): ${crossing.consequence}`,
      });
    }
  }
  return findings;
}
