/**
 * Decoders for stored session values. A failure says what kind of problem it is and never
 * quotes the value: V8's own JSON.parse messages include a slice of the input, which may be a
 * user's personal data.
 */
export type DecodeResult = { ok: true; value: unknown } | { ok: false; reason: string };

export type SessionCodec = (raw: string) => DecodeResult;

function parseJson(raw: string): DecodeResult {
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The codecs greenlight can decode live session values with, by contract name. */
export const sessionCodecs: Readonly<Record<string, SessionCodec>> = {
  /** Any JSON document (connect-redis, connect-memcached and most stores by default). */
  json: parseJson,
  /** express-session's stored shape: a JSON object carrying its `cookie` settings. */
  'express-session': (raw) => {
    const parsed = parseJson(raw);
    if (!parsed.ok) return parsed;
    if (!isObject(parsed.value)) return { ok: false, reason: 'not a JSON object' };
    const cookie = parsed.value.cookie;
    if (!isObject(cookie)) return { ok: false, reason: 'no cookie object (not an express-session session)' };
    if ('expires' in cookie && cookie.expires !== null && typeof cookie.expires !== 'string') {
      return { ok: false, reason: 'cookie.expires is neither null nor a date string' };
    }
    return parsed;
  },
};

export function knownCodec(name: string): SessionCodec | undefined {
  return Object.hasOwn(sessionCodecs, name) ? sessionCodecs[name] : undefined;
}
