import { decodePhpBinary, decodePhpHandler, decodePhpSerialize, type PhpDecoded } from './formats/php';
import { opaqueFormat } from './formats/opaque';
import { decodeSpringSession } from './formats/spring';
import { decodeSignedPayload } from './frameworks/signed-payload';
import type { StoredValue } from './store';

/**
 * Decoders for stored session values. A failure says what kind of problem it is and never
 * quotes the value: V8's own JSON.parse messages include a slice of the input, which may be a
 * user's personal data. Formats that run code when loaded (pickle, Marshal, Java serialization)
 * are identified by their header and reported as opaque, never deserialized.
 */
export type DecodeResult =
  | { ok: true; value: unknown }
  /** The format is known and readable by its framework, but greenlight does not deserialize it. */
  | { ok: true; opaque: string }
  /** A key under the prefix that holds no session (Spring's expiry markers). */
  | { ok: true; notSession: string }
  | { ok: false; reason: string };

export type SessionCodec = (stored: StoredValue, key: string) => DecodeResult;

function parseJson(text: string): DecodeResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The bytes of a string value; a hash is the wrong type for every codec but Spring's. */
function bytesOf(stored: StoredValue): Buffer | DecodeResult {
  return stored.kind === 'bytes' ? stored.bytes : { ok: false, reason: 'a hash, not a string value' };
}

function onBytes(decode: (bytes: Buffer) => DecodeResult): SessionCodec {
  return (stored) => {
    const bytes = bytesOf(stored);
    return Buffer.isBuffer(bytes) ? decode(bytes) : bytes;
  };
}

/** JSON, or a format identified by its header (`what` names the framework's serializer). */
function jsonOrOpaque(bytes: Buffer, serializer: string): DecodeResult {
  const opaque = opaqueFormat(bytes);
  if (opaque) return { ok: true, opaque: `${opaque} (${serializer})` };
  return parseJson(bytes.toString('utf8'));
}

function php(decode: (bytes: Buffer) => PhpDecoded): SessionCodec {
  return onBytes((bytes) => decode(bytes));
}

/** The codecs greenlight can decode live session values with, by contract name. */
export const sessionCodecs: Readonly<Record<string, SessionCodec>> = {
  /** Any JSON document (connect-redis, connect-memcached and most stores by default). */
  json: onBytes((bytes) => parseJson(bytes.toString('utf8'))),
  /** express-session's stored shape: a JSON object carrying its `cookie` settings. */
  'express-session': onBytes((bytes) => {
    const parsed = parseJson(bytes.toString('utf8'));
    if (!parsed.ok || !('value' in parsed)) return parsed;
    if (!isObject(parsed.value)) return { ok: false, reason: 'not a JSON object' };
    const cookie = parsed.value.cookie;
    if (!isObject(cookie)) return { ok: false, reason: 'no cookie object (not an express-session session)' };
    if ('expires' in cookie && cookie.expires !== null && typeof cookie.expires !== 'string') {
      return { ok: false, reason: 'cookie.expires is neither null nor a date string' };
    }
    return parsed;
  }),
  /** Spring Session's Redis hash: JSON (Jackson) decoded, JDK serialization opaque. */
  'spring-session': (stored, key) => decodeSpringSession(stored, key),
  /**
   * Django's cache and cached_db sessions: pickled by the cache (opaque), JSON through a JSON
   * cache serializer, or a `signing.dumps` value (the db backend's `session_data`).
   */
  django: onBytes((bytes) => {
    const opaque = opaqueFormat(bytes);
    if (opaque) return { ok: true, opaque: `${opaque} (Django's cache serializer)` };
    const text = bytes.toString('utf8');
    const signed = /^(\.?[A-Za-z0-9_-]+):[A-Za-z0-9]+:[A-Za-z0-9_-]+$/.exec(text);
    if (signed) {
      const payload = decodeSignedPayload(signed[1]!);
      return payload.ok
        ? payload
        : { ok: false, reason: payload.reason.replace('signature valid, but ', '') };
    }
    return parseJson(text);
  }),
  /** Rails cache-store sessions: Marshal (Rails' cache entries, opaque) or JSON. */
  rails: onBytes((bytes) => jsonOrOpaque(bytes, "Rails' cache entry")),
  /** PHP's default `session.serialize_handler`. */
  php: php(decodePhpHandler),
  php_serialize: php(decodePhpSerialize),
  php_binary: php(decodePhpBinary),
};

export function knownCodec(name: string): SessionCodec | undefined {
  return Object.hasOwn(sessionCodecs, name) ? sessionCodecs[name] : undefined;
}
