import type { CookieFramework } from './framework';

const SESSION_ID = /^[A-Za-z0-9_-]{8,128}$/;

/**
 * Spring Session: the `SESSION` cookie carries the session id, Base64-encoded by default
 * (`DefaultCookieSerializer.useBase64Encoding`) or plain. Nothing is signed: the session lives
 * in the store under `spring:session:sessions:<id>`, so there are no keys to share.
 */
export const spring: CookieFramework = {
  name: 'spring',
  defaultCookieName: 'SESSION',
  cookieOnly: false,
  signed: false,
  cookieNames: (name) => [name],
  verify(cookie, name) {
    const raw = cookie(name);
    if (raw === undefined) return { ok: false, reason: `no ${name} cookie` };
    const value = raw.replace(/^"(.*)"$/, '$1');
    const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(value)
      ? Buffer.from(value, 'base64').toString('latin1')
      : '';
    if (SESSION_ID.test(decoded)) return { ok: true, keyIndex: 0, sessionId: decoded };
    if (SESSION_ID.test(value)) return { ok: true, keyIndex: 0, sessionId: value };
    return { ok: false, reason: 'neither a session id nor a Base64 session id' };
  },
};
