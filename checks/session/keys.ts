import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { registerSecret } from '../../lib/redact';

/** The fixed message a key's fingerprint is the HMAC of; apps publishing contracts compute the same. */
export const FINGERPRINT_MESSAGE = 'greenlight session key fingerprint v1';

/**
 * A signing key's id derived from its value: the first 16 hex digits of
 * HMAC-SHA256(key = secret, message = "greenlight session key fingerprint v1"). A secret changed
 * under an old label is a changed key; the fingerprint tells nothing about the secret itself.
 */
export function keyFingerprint(secret: string | Buffer): string {
  return createHmac('sha256', secret).update(FINGERPRINT_MESSAGE).digest('hex').slice(0, 16);
}

/** A key as configured: its value (from a secret reference) and an optional label for humans. */
export const signingKeySchema = z.union([
  z.string().min(1),
  z.strictObject({
    label: z.string().min(1).optional().describe('A name for humans, e.g. `k2`; never compared.'),
    value: z.string().min(1).describe('The secret; use ${secretsmanager:...}, ${ssm:...} or ${env:...}.'),
  }),
]);

/** One version's keys, in the app's order: the first signs, all of them verify. */
export const keyListSchema = z.array(signingKeySchema).min(1);

export interface SigningKey {
  value: string;
  label?: string;
  fingerprint: string;
}

/** Normalises configured keys and registers their values as secrets, so no message can print one. */
export function toSigningKeys(keys: ReadonlyArray<z.output<typeof signingKeySchema>>): SigningKey[] {
  return keys.map((key) => {
    const { value, label } = typeof key === 'string' ? { value: key, label: undefined } : key;
    registerSecret(value);
    return { value, fingerprint: keyFingerprint(value), ...(label ? { label } : {}) };
  });
}

/** `k2 (fp 1a2b3c4d5e6f7a8b)` or the fingerprint alone: how a key is named in messages. */
export function describeKey(key: { label?: string; fingerprint: string }): string {
  return key.label ? `${key.label} (fp ${key.fingerprint})` : `fp ${key.fingerprint}`;
}

/** The finding for one direction of key compatibility: does `reader` verify what `writer` signs? */
export interface KeyCrossing {
  ok: boolean;
  /** Set when the writer's signing key carries a label the reader also uses, for another value. */
  relabelled?: string;
  signing: string;
  verifies: string;
}

/** Compares by fingerprint; labels are only carried along to name keys and to spot a secret changed under its old label. */
export function crossKeys(
  writer: ReadonlyArray<{ label?: string; fingerprint: string }>,
  reader: ReadonlyArray<{ label?: string; fingerprint: string }>,
): KeyCrossing {
  const signing = writer[0];
  const verifies = reader.map(describeKey).join(', ') || '(none)';
  if (!signing) return { ok: reader.length === 0, signing: '(unsigned)', verifies };
  const ok = reader.some((k) => k.fingerprint === signing.fingerprint);
  const sameLabel = signing.label
    ? reader.find((k) => k.label === signing.label && k.fingerprint !== signing.fingerprint)
    : undefined;
  return {
    ok,
    signing: describeKey(signing),
    verifies,
    ...(sameLabel && !ok
      ? {
          relabelled: `label ${signing.label} names a different secret (fp ${signing.fingerprint} vs ${sameLabel.fingerprint}): the secret changed under the same label`,
        }
      : {}),
  };
}
