import { createDecipheriv, createHmac, pbkdf2Sync } from 'node:crypto';
import { opaqueFormat } from '../formats/opaque';
import {
  fromBase64,
  noKeyMatched,
  parseJsonPayload,
  percentDecoded,
  sameText,
  type CookieFramework,
  type FrameworkSettings,
  type Verified,
} from './framework';

const ITERATIONS = 1_000; // ActiveSupport::KeyGenerator's default
const GCM_SALT = 'authenticated encrypted cookie';
const CBC_SALT = 'encrypted cookie';
const CBC_SIGN_SALT = 'signed encrypted cookie';

type Decrypted = { ok: true; plain: Buffer } | { ok: false };

function deriveKey(secretKeyBase: string, salt: string, bytes: number, settings: FrameworkSettings): Buffer {
  return pbkdf2Sync(secretKeyBase, salt, ITERATIONS, bytes, settings.keyDigest ?? 'sha1');
}

/** `base64(data)--base64(iv)--base64(auth tag)`: AES-256-GCM (Rails 5.2+ defaults). */
function decryptGcm(parts: string[], secretKeyBase: string, settings: FrameworkSettings): Decrypted {
  try {
    const key = deriveKey(secretKeyBase, GCM_SALT, 32, settings);
    const decipher = createDecipheriv('aes-256-gcm', key, fromBase64(parts[1]!));
    decipher.setAuthTag(fromBase64(parts[2]!));
    decipher.setAAD(Buffer.alloc(0));
    return { ok: true, plain: Buffer.concat([decipher.update(fromBase64(parts[0]!)), decipher.final()]) };
  } catch {
    return { ok: false };
  }
}

/** `base64(base64(data)--base64(iv))--hex HMAC-SHA1`: AES-256-CBC with HMAC (before Rails 5.2). */
function decryptCbc(parts: string[], secretKeyBase: string, settings: FrameworkSettings): Decrypted {
  const signKey = deriveKey(secretKeyBase, CBC_SIGN_SALT, 64, settings);
  const digest = createHmac('sha1', signKey).update(parts[0]!).digest('hex');
  if (!sameText(digest, parts[1]!)) return { ok: false };
  const inner = fromBase64(parts[0]!).toString('latin1').split('--');
  if (inner.length !== 2) return { ok: false };
  try {
    const key = deriveKey(secretKeyBase, CBC_SALT, 32, settings);
    const decipher = createDecipheriv('aes-256-cbc', key, fromBase64(inner[1]!));
    return { ok: true, plain: Buffer.concat([decipher.update(fromBase64(inner[0]!)), decipher.final()]) };
  } catch {
    return { ok: false };
  }
}

/** The serialized session inside Rails' `_rails` metadata envelope (purpose and expiry), or as is. */
function unwrap(plain: Buffer, name: string, keyIndex: number): Verified {
  let serialized = plain;
  const envelope = plain[0] === 0x7b ? parseJsonPayload(plain.toString('utf8')) : undefined;
  const rails = envelope?.ok ? (envelope.value as { _rails?: Record<string, unknown> })._rails : undefined;
  if (rails && typeof rails === 'object') {
    if (rails.pur !== undefined && rails.pur !== `cookie.${name}`)
      return {
        ok: false,
        reason: `decrypted, but written for purpose ${String(rails.pur)}, not cookie.${name}`,
      };
    if (typeof rails.exp === 'string' && Date.parse(rails.exp) < Date.now())
      return { ok: false, reason: 'decrypted, but expired' };
    if (typeof rails.message !== 'string')
      return { ok: false, reason: 'decrypted, but no message in the envelope' };
    serialized = fromBase64(rails.message);
  }
  const opaque = opaqueFormat(serialized);
  if (opaque) return { ok: true, keyIndex, opaque };
  const parsed = parseJsonPayload(serialized.toString('utf8'));
  return parsed.ok
    ? { ok: true, keyIndex, payload: parsed.value }
    : { ok: false, reason: 'decrypted, but the session is neither JSON nor Marshal' };
}

/**
 * Rails' cookie store: the session encrypted with keys derived from `secret_key_base` (PBKDF2,
 * 1000 iterations, SHA-1 up to Rails 6.1's defaults, `keyDigest: sha256` for 7.0's). Both the
 * AES-256-GCM format and the older AES-256-CBC + HMAC one are read. Keys are the current
 * `secret_key_base` first, then the ones kept through `cookies_rotations`.
 */
export const rails: CookieFramework = {
  name: 'rails',
  cookieOnly: true,
  signed: true,
  cookieNames: (name) => [name],
  verify(cookie, name, keys, settings) {
    const raw = cookie(name);
    if (raw === undefined) return { ok: false, reason: `no ${name} cookie` };
    const parts = percentDecoded(raw).split('--');
    if (parts.length !== 2 && parts.length !== 3)
      return { ok: false, reason: 'not a Rails encrypted cookie (data--iv--tag or data--digest)' };
    const decrypt = parts.length === 3 ? decryptGcm : decryptCbc;
    for (let i = 0; i < keys.length; i++) {
      const decrypted = decrypt(parts, keys[i]!, settings);
      if (decrypted.ok) return unwrap(decrypted.plain, name, i);
    }
    return noKeyMatched(keys);
  },
};
