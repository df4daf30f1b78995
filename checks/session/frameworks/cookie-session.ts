import { createHmac } from 'node:crypto';
import { firstMatching, fromBase64, noKeyMatched, parseJsonPayload, type CookieFramework } from './framework';

/** Keygrip's default signature: HMAC-SHA1, base64 with `/+` made URL-safe and `=` dropped. */
export function keygripSignature(data: string, key: string): string {
  return createHmac('sha1', key)
    .update(data)
    .digest('base64')
    .replace(/\//g, '_')
    .replace(/\+/g, '-')
    .replace(/=/g, '');
}

/**
 * cookie-session (express): the session is base64 JSON in `<name>`, signed by Keygrip in
 * `<name>.sig` over `<name>=<value>`; the first key signs, all verify.
 */
export const cookieSession: CookieFramework = {
  name: 'cookie-session',
  defaultCookieName: 'session',
  cookieOnly: true,
  signed: true,
  cookieNames: (name) => [name, `${name}.sig`],
  verify(cookie, name, keys) {
    const value = cookie(name);
    if (value === undefined) return { ok: false, reason: `no ${name} cookie` };
    const signature = cookie(`${name}.sig`);
    if (signature === undefined)
      return { ok: false, reason: `no ${name}.sig cookie (signing switched off?)` };
    const keyIndex = firstMatching(keys, (k) => keygripSignature(`${name}=${value}`, k), signature);
    if (keyIndex < 0) return noKeyMatched(keys);
    const parsed = parseJsonPayload(fromBase64(value).toString('utf8'));
    if (!parsed.ok) return { ok: false, reason: 'signature valid, but the payload is not base64 JSON' };
    return { ok: true, keyIndex, payload: parsed.value };
  },
};
