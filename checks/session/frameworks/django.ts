import { createHash, createHmac } from 'node:crypto';
import type { CookieFramework } from './framework';
import { verifyTimestampSigned } from './signed-payload';

/** The salt of `django.contrib.sessions.backends.signed_cookies`. */
export const DJANGO_COOKIE_SALT = 'django.contrib.sessions.backends.signed_cookies';

/**
 * `django.core.signing.Signer`'s signature: `salted_hmac(salt + "signer", value, secret)` with
 * SHA-256 (Django 3.1+): the HMAC key is SHA-256(salt + "signer" + secret); base64url.
 */
export function djangoSignature(value: string, secret: string, salt = DJANGO_COOKIE_SALT): string {
  const key = createHash('sha256').update(`${salt}signer${secret}`).digest();
  return createHmac('sha256', key).update(value).digest('base64url');
}

/**
 * Django's `signed_cookies` session backend: `signing.dumps(session)`, i.e.
 * `<payload>:<timestamp>:<signature>` in `sessionid`. Keys are `SECRET_KEY` first, then
 * `SECRET_KEY_FALLBACKS` (Django 4.1+).
 */
export const django: CookieFramework = {
  name: 'django',
  defaultCookieName: 'sessionid',
  cookieOnly: true,
  signed: true,
  cookieNames: (name) => [name],
  verify(cookie, name, keys, settings) {
    const raw = cookie(name);
    if (raw === undefined) return { ok: false, reason: `no ${name} cookie` };
    const salt = settings.salt ?? DJANGO_COOKIE_SALT;
    return verifyTimestampSigned(
      raw,
      ':',
      (signedValue, key) => djangoSignature(signedValue, key, salt),
      keys,
      'a Django signed value (payload:timestamp:signature)',
    );
  },
};
