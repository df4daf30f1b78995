import { createHmac } from 'node:crypto';
import { firstMatching, noKeyMatched, percentDecoded, type CookieFramework } from './framework';

/** cookie-signature's signature: base64 HMAC-SHA256 of the session id, without `=` padding. */
export function expressSignature(value: string, secret: string): string {
  return createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '');
}

/**
 * express-session: the cookie is `s:<session id>.<signature>` (cookie-signature), URL-encoded;
 * the session itself is in the store under the key prefix and the id.
 */
export const expressSession: CookieFramework = {
  name: 'express-session',
  defaultCookieName: 'connect.sid',
  cookieOnly: false,
  signed: true,
  cookieNames: (name) => [name],
  verify(cookie, name, keys) {
    const raw = cookie(name);
    if (raw === undefined) return { ok: false, reason: `no ${name} cookie` };
    const value = percentDecoded(raw);
    if (!value.startsWith('s:')) return { ok: false, reason: 'not a signed cookie (no "s:" prefix)' };
    const signed = value.slice(2);
    const dot = signed.lastIndexOf('.');
    if (dot <= 0) return { ok: false, reason: 'no signature after the session id' };
    const sessionId = signed.slice(0, dot);
    const keyIndex = firstMatching(keys, (k) => expressSignature(sessionId, k), signed.slice(dot + 1));
    return keyIndex < 0 ? noKeyMatched(keys) : { ok: true, keyIndex, sessionId };
  },
};
