import { createHmac } from 'node:crypto';
import type { CookieFramework } from './framework';
import { verifyTimestampSigned } from './signed-payload';

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
    const salt = settings.salt ?? FLASK_SALT;
    return verifyTimestampSigned(
      raw,
      '.',
      (signedValue, key) => flaskSignature(signedValue, key, salt),
      keys,
      'an itsdangerous value (payload.timestamp.signature)',
    );
  },
};
