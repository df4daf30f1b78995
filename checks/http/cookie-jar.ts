import { isIP } from 'node:net';
import { parseSetCookie } from './undici-parts';

interface StoredCookie {
  name: string;
  value: string;
  /** Lower-case host or domain. */
  domain: string;
  /** False when the cookie had no Domain attribute: then only that exact host gets it. */
  includeSubdomains: boolean;
  path: string;
  secure: boolean;
  /** Epoch ms; undefined for a session cookie. */
  expiresAt?: number;
}

/** What a cookie is, without its value (safe to log). */
export interface CookieInfo {
  name: string;
  domain: string;
  path: string;
  secure: boolean;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/**
 * The cookies of one check run, kept and sent back like a browser does (RFC 6265 domain, path,
 * expiry and Secure rules), so that a login-then-call flow works. Cookies ignore ports, so the
 * production and test listeners of one load balancer share them, as they do for real users.
 * Secure cookies go to https origins only, and to loopback hosts (as browsers allow).
 */
export class CookieJar {
  private cookies: StoredCookie[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Stores the `Set-Cookie` headers of a response to `url`. Invalid ones are ignored, as a browser would. */
  storeFromResponse(url: URL, setCookie: readonly string[]): void {
    for (const header of setCookie) {
      const parsed = parseSetCookie(header);
      if (!parsed || !parsed.name) continue;
      const host = url.hostname.toLowerCase();
      let domain = host;
      let includeSubdomains = false;
      if (parsed.domain) {
        const wanted = parsed.domain.replace(/^\./, '').toLowerCase();
        if (!domainMatches(host, wanted)) continue;
        domain = wanted;
        includeSubdomains = !isIP(stripBrackets(host));
      }
      const path = parsed.path?.startsWith('/') ? parsed.path : defaultPath(url);
      let expiresAt: number | undefined;
      if (parsed.maxAge !== undefined) expiresAt = this.now() + parsed.maxAge * 1000;
      else if (parsed.expires !== undefined) expiresAt = new Date(parsed.expires).getTime();
      this.cookies = this.cookies.filter(
        (c) => !(c.name === parsed.name && c.domain === domain && c.path === path),
      );
      if (expiresAt !== undefined && expiresAt <= this.now()) continue;
      const cookie: StoredCookie = {
        name: parsed.name,
        value: parsed.value,
        domain,
        includeSubdomains,
        path,
        secure: parsed.secure === true,
      };
      if (expiresAt !== undefined) cookie.expiresAt = expiresAt;
      this.cookies.push(cookie);
    }
  }

  /** Sets a cookie by hand, as if `url` had set it (e.g. a session cookie created elsewhere). */
  set(url: URL, name: string, value: string): void {
    this.storeFromResponse(url, [`${name}=${value}; Path=/`]);
  }

  /** The `Cookie` header for a request to `url`, or undefined when no cookie applies. */
  headerFor(url: URL): string | undefined {
    if (this.cookies.length === 0) return undefined;
    const matching = this.matching(url).sort((a, b) => b.path.length - a.path.length);
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  /** The value of cookie `name` that a request to `url` would send (or any, without a URL). */
  get(name: string, url?: URL): string | undefined {
    const candidates = url ? this.matching(url) : this.live();
    return candidates.find((c) => c.name === name)?.value;
  }

  /** Every live cookie, without values. */
  list(): CookieInfo[] {
    return this.live().map(({ name, domain, path, secure }) => ({ name, domain, path, secure }));
  }

  clear(): void {
    this.cookies = [];
  }

  private live(): StoredCookie[] {
    const now = this.now();
    this.cookies = this.cookies.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
    return this.cookies;
  }

  private matching(url: URL): StoredCookie[] {
    const host = url.hostname.toLowerCase();
    const secureChannel = url.protocol === 'https:' || LOOPBACK.has(host);
    return this.live().filter(
      (c) =>
        (c.includeSubdomains ? domainMatches(host, c.domain) : host === c.domain) &&
        pathMatches(url.pathname || '/', c.path) &&
        (!c.secure || secureChannel),
    );
  }
}

function stripBrackets(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

function domainMatches(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && !isIP(stripBrackets(host)));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/') || path.lastIndexOf('/') === 0) return '/';
  return path.slice(0, path.lastIndexOf('/'));
}
