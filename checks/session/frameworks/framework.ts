/**
 * What a session framework puts in its cookie and how greenlight verifies it with a version's
 * keys, using node:crypto only. A verifier never throws and never quotes the cookie or a key.
 */
export type Verified =
  | {
      ok: true;
      /** Which of the keys verified it (0: the signing key; more: a fallback). */
      keyIndex: number;
      /** The decoded session, for cookie-only frameworks with a readable serializer. */
      payload?: unknown;
      /** Set when the payload's format is identified but never deserialized (Marshal, pickle). */
      opaque?: string;
      /** The session id, for frameworks that keep the session in a store. */
      sessionId?: string;
    }
  | { ok: false; reason: string };

/** Settings a framework may need besides the keys (salts, digests); each has the framework's default. */
export interface FrameworkSettings {
  /** Django's `signing` salt or Flask's itsdangerous salt. */
  salt?: string;
  /** Rails' key generator digest: `sha1` (Rails ≤ 6.1 defaults) or `sha256` (7.0 defaults). */
  keyDigest?: 'sha1' | 'sha256';
}

export interface CookieFramework {
  readonly name: string;
  readonly defaultCookieName?: string;
  /** The whole session lives in the cookie: no store is needed. */
  readonly cookieOnly: boolean;
  /** The cookie is signed or encrypted with keys the versions must share. */
  readonly signed: boolean;
  /** The cookies one session uses (cookie-session adds `<name>.sig`). */
  cookieNames(name: string): string[];
  /**
   * Tries the keys in order (the first signs, the others verify). `cookie(name)` returns the raw
   * value as sent in `Set-Cookie`, still URL-encoded.
   */
  verify(
    cookie: (name: string) => string | undefined,
    name: string,
    keys: readonly string[],
    settings: FrameworkSettings,
  ): Verified;
}

/** Base64 or base64url, padded or not. */
export function fromBase64(text: string): Buffer {
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** base64url without padding (itsdangerous, Django). */
export function toBase64Url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** decodeURIComponent that returns the input when it is not valid percent-encoding. */
export function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Equal-length constant-time comparison of two ASCII strings. */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) return false;
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** The first key whose signature matches, or -1. */
export function firstMatching(
  keys: readonly string[],
  sign: (key: string) => string,
  actual: string,
): number {
  for (let i = 0; i < keys.length; i++) if (sameText(sign(keys[i]!), actual)) return i;
  return -1;
}

export function noKeyMatched(keys: readonly string[]): Verified {
  return {
    ok: false,
    reason: keys.length
      ? `signature matches none of the ${keys.length} key${keys.length === 1 ? '' : 's'}`
      : 'no keys to verify with',
  };
}

/** JSON.parse without quoting the input in the error (a cookie payload is personal data). */
export function parseJsonPayload(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
