import { createHmac } from 'node:crypto';
import { firstMatching, noKeyMatched, type CookieFramework } from './framework';
import { decodeSignedPayload } from './signed-payload';

/** Flask's `SecureCookieSessionInterface` salt. */
export const FLASK_SALT = 'cookie-session';

/**
 * itsdangerous' signature as Flask uses it: the key is HMAC-SHA1(secret, salt) ("hmac" key
 * derivation), the signature HMAC-SHA1 of `<payload>.<timestamp>`, in base64url.
 */
export function flaskSignature(signedValue: string, secret: string, salt = FLASK_SALT): string {
  const key = createHmac('sha1', secret).update(salt).digest();
  return createHmac('sha1', key).update(signedValue).digest('base64url');
}

/**
 * Flask's default session: `<payload>.<timestamp>.<signature>` in the `session` cookie.
 * Keys are listed signing key first, then `SECRET_KEY_FALLBACKS` (Flask 3.1+).
 */
export const flask: CookieFramework = {
  name: 'flask',
  defaultCookieName: 'session',
  cookieOnly: true,
  signed: true,
  cookieNames: (name) => [name],
  verify(cookie, name, keys, settings) {
    const raw = cookie(name);
    if (raw === undefined) return { ok: false, reason: `no ${name} cookie` };
    const value = raw.replace(/^"(.*)"$/, '$1');
    const dot = value.lastIndexOf('.');
    const signedValue = value.slice(0, dot);
    const tsDot = signedValue.lastIndexOf('.');
    if (dot <= 0 || tsDot <= 0)
      return { ok: false, reason: 'not an itsdangerous value (payload.timestamp.signature)' };
    const salt = settings.salt ?? FLASK_SALT;
    const keyIndex = firstMatching(keys, (k) => flaskSignature(signedValue, k, salt), value.slice(dot + 1));
    if (keyIndex < 0) return noKeyMatched(keys);
    const payload = decodeSignedPayload(signedValue.slice(0, tsDot));
    if (!payload.ok) return payload;
    return 'opaque' in payload
      ? { ok: true, keyIndex, opaque: payload.opaque }
      : { ok: true, keyIndex, payload: payload.value };
  },
};
