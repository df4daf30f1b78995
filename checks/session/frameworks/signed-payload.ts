import { inflateSync } from 'node:zlib';
import { opaqueFormat } from '../formats/opaque';
import { fromBase64, parseJsonPayload } from './framework';

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
