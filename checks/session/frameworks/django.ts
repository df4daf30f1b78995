import { createHash, createHmac } from 'node:crypto';
import { firstMatching, noKeyMatched, type CookieFramework } from './framework';
import { decodeSignedPayload } from './signed-payload';

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
    const value = raw.replace(/^"(.*)"$/, '$1');
    const colon = value.lastIndexOf(':');
    const signedValue = value.slice(0, colon);
    const tsColon = signedValue.lastIndexOf(':');
    if (colon <= 0 || tsColon <= 0)
      return { ok: false, reason: 'not a Django signed value (payload:timestamp:signature)' };
    const salt = settings.salt ?? DJANGO_COOKIE_SALT;
    const keyIndex = firstMatching(
      keys,
      (k) => djangoSignature(signedValue, k, salt),
      value.slice(colon + 1),
    );
    if (keyIndex < 0) return noKeyMatched(keys);
    const payload = decodeSignedPayload(signedValue.slice(0, tsColon));
    if (!payload.ok) return payload;
    return 'opaque' in payload
      ? { ok: true, keyIndex, opaque: payload.opaque }
      : { ok: true, keyIndex, payload: payload.value };
  },
};
