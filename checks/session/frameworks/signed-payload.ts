import { inflateSync } from 'node:zlib';
import { opaqueFormat } from '../formats/opaque';
import { firstMatching, fromBase64, noKeyMatched, parseJsonPayload, type Verified } from './framework';

/** Bigger than any cookie: a compressed payload is never inflated beyond this. */
const MAX_INFLATED_BYTES = 1 << 20;

/**
 * The payload of an itsdangerous (Flask) or Django `signing` value: base64url JSON, or a `.`
 * followed by base64url of zlib-compressed JSON.
 */
export function decodeSignedPayload(
  payload: string,
): { ok: true; value: unknown } | { ok: true; opaque: string } | { ok: false; reason: string } {
  const compressed = payload.startsWith('.');
  let bytes = fromBase64(compressed ? payload.slice(1) : payload);
  if (compressed) {
    try {
      bytes = inflateSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch {
      return { ok: false, reason: 'signature valid, but the compressed payload does not inflate' };
    }
  }
  const format = opaqueFormat(bytes);
  if (format) return { ok: true, opaque: format };
  const parsed = parseJsonPayload(bytes.toString('utf8'));
  return parsed.ok ? parsed : { ok: false, reason: 'signature valid, but the payload is not JSON' };
}

/**
 * Verifies a `<payload><sep><timestamp><sep><signature>` value (itsdangerous with `.`, Django's
 * `signing` with `:`), quoted or not: the first key whose `sign(signedValue, key)` matches, then
 * the payload decoded.
 */
export function verifyTimestampSigned(
  raw: string,
  separator: '.' | ':',
  sign: (signedValue: string, key: string) => string,
  keys: readonly string[],
  shape: string,
): Verified {
  const value = raw.replace(/^"(.*)"$/, '$1');
  const last = value.lastIndexOf(separator);
  const signedValue = value.slice(0, last);
  const timestampAt = signedValue.lastIndexOf(separator);
  if (last <= 0 || timestampAt <= 0) return { ok: false, reason: `not ${shape}` };
  const keyIndex = firstMatching(keys, (k) => sign(signedValue, k), value.slice(last + 1));
  if (keyIndex < 0) return noKeyMatched(keys);
  const payload = decodeSignedPayload(signedValue.slice(0, timestampAt));
  if (!payload.ok) return payload;
  return 'opaque' in payload
    ? { ok: true, keyIndex, opaque: payload.opaque }
    : { ok: true, keyIndex, payload: payload.value };
}
