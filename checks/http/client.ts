import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import { Agent, buildConnector } from './undici-parts';
import { version } from '../../package.json';
import { isSecretField, registerObservedSecret, type SecretNames } from '../../lib/redact';
import { Hop } from './hop';
import { Timeout, describeTransportError, type TransportError } from './transport-errors';
import { readCaFile, trustedCa } from '../../lib/tls';
import type { CookieJar } from './cookie-jar';
import type { TlsOptions } from './step';

export const USER_AGENT = `greenlight/${version}`;

/** One request, fully resolved: no variables left, the URL absolute. */
export interface PreparedRequest {
  method: string;
  url: URL;
  /** Header names as written; values resolved. */
  headers: Record<string, string>;
  body?: string;
  tls: TlsOptions;
  timeoutMs: number;
  maxBodyBytes: number;
  /**
   * When set, the body is only searched for these pieces as it arrives (see BodyScanner) and
   * just its first bytes are kept: for answers nothing else reads. Still read up to maxBodyBytes.
   */
  scan?: readonly string[];
  /** 0: redirects are answers like any other. */
  maxRedirects: number;
  /**
   * Headers never sent to another origin when a redirect leaves this one: the secret-looking
   * names (lib/redact.ts) and the check's `secretHeaders`. Default: the secret-looking names.
   */
  secretHeaders?: SecretNames;
  /**
   * Past maxBodyBytes, keep reading (and dropping) until the body ends, so that a body that
   * never ends is a timeout rather than a truncated answer. Otherwise the exchange stops at the cap.
   */
  readToEnd?: boolean;
}

/** The server's certificate, as seen in the TLS handshake. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  validTo: string;
  daysLeft: number;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; `set-cookie` is always a list. */
  headers: Record<string, string | string[]>;
  /** Up to `maxBodyBytes`; only the first SCANNED_PREFIX_BYTES when the body was scanned. */
  body: Buffer;
  /** When the request asked for a scan: each piece, with the text around its first occurrence, or null. */
  scanned?: ReadonlyMap<string, string | null>;
  /** Bytes of the body received from the server, the discarded rest past the cap included. */
  bodyBytes: number;
  /** More than maxBodyBytes arrived: only the first maxBodyBytes were kept or scanned. */
  truncated: boolean;
  durationMs: number;
  /** The URL that answered (after redirects). */
  url: URL;
  /** Every URL redirected from, in order. */
  redirects: string[];
  certificate?: CertificateInfo;
}

export type SendResult =
  | { response: HttpResponse; error?: undefined }
  | { error: TransportError; response?: undefined; durationMs: number };

const DAY_MS = 86_400_000;

/**
 * The HTTP stack of a check run: undici agents per TLS setting (the CA bundle, SNI name and
 * verification are per agent, never global), the peer certificate each connection presented,
 * bounded body reading, redirects followed by hand (so cookies are kept at every hop and
 * credentials are not sent to another origin), and one timeout per request covering headers
 * and body. Close it when the run ends.
 */
export class HttpClient {
  private readonly agents = new Map<string, Agent>();
  private readonly certificates = new Map<string, PeerCertificate>();
  private readonly caFiles = new Map<string, Promise<string>>();
  private readonly watchers = new Map<
    AbortSignal,
    { stops: Set<(reason: unknown) => void>; onAbort: () => void }
  >();

  async send(
    request: PreparedRequest,
    options: { signal: AbortSignal; jar?: CookieJar },
  ): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    // Why the exchange was cut short (a Timeout, or the caller's abort reason), once it was.
    let stopped: unknown;
    let hop: Hop | undefined;
    const stop = (reason: unknown) => {
      if (stopped !== undefined) return;
      stopped = reason ?? new Error('aborted');
      hop?.stop(stopped);
    };
    const timeout = setTimeout(() => stop(new Timeout(request.timeoutMs)), request.timeoutMs);
    const unwatch = this.watch(options.signal, stop);
    let phase = 'connecting';
    try {
      const agent = this.agents.get(agentKey(request.tls)) ?? (await this.agentFor(request.tls));
      let url = request.url;
      let method = request.method;
      let body = request.body;
      let headers = request.headers;
      const redirects: string[] = [];
      for (;;) {
        let sent = headers;
        const cookie = options.jar?.headerFor(url);
        if (cookie && !hasHeader(sent, 'cookie')) sent = { ...headers, cookie };
        const servername = request.tls.serverName;
        phase = 'waiting for response headers';
        hop = new Hop(
          request.maxBodyBytes,
          request.maxRedirects > 0,
          () => (phase = 'reading the body'),
          request.scan,
          request.readToEnd === true,
        );
        if (stopped !== undefined) hop.stop(stopped);
        const dispatchOptions: Dispatcher.DispatchOptions & { servername?: string } = {
          origin: url.origin,
          path: url.pathname + url.search,
          method: method as Dispatcher.HttpMethod,
          headers: sent,
          body: body ?? null,
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
        };
        if (servername) dispatchOptions.servername = servername;
        agent.dispatch(dispatchOptions, hop);
        const answer = await hop.answer;
        const responseHeaders = normaliseHeaders(answer.headers);
        const setCookie = responseHeaders['set-cookie'] as string[] | undefined;
        if (setCookie?.length) {
          for (const header of setCookie) registerCookieValue(header);
          options.jar?.storeFromResponse(url, setCookie);
        }
        if (answer.redirect) {
          redirects.push(url.href);
          const next = new URL(responseHeaders.location as string, url);
          if (redirects.length > request.maxRedirects) {
            const chain = [...redirects, next.href].map(pathOf).join(' → ');
            return {
              error: {
                kind: 'redirects',
                transient: false,
                message: `stopped after ${request.maxRedirects} redirects (${chain})`,
              },
              durationMs: elapsed(),
            };
          }
          if (headers === request.headers) headers = { ...headers };
          if (next.origin !== url.origin) {
            for (const name of Object.keys(headers))
              if (request.secretHeaders?.has(name) ?? isSecretField(name)) delete headers[name];
          }
          if (
            answer.status === 303 ||
            ((answer.status === 301 || answer.status === 302) && method === 'POST')
          ) {
            method = method === 'HEAD' ? 'HEAD' : 'GET';
            body = undefined;
            for (const name of Object.keys(headers))
              if (/^content-(type|length)$/i.test(name)) delete headers[name];
          }
          url = next;
          continue;
        }
        const response: HttpResponse = {
          status: answer.status,
          headers: responseHeaders,
          body: answer.body,
          bodyBytes: answer.received,
          truncated: answer.truncated,
          durationMs: elapsed(),
          url,
          redirects,
        };
        if (answer.scanned) response.scanned = answer.scanned;
        const certificate =
          url.protocol === 'https:' ? this.certificateOf(url, servername ?? hostHeader(headers)) : undefined;
        if (certificate) response.certificate = certificate;
        return { response };
      }
    } catch (err) {
      return {
        error: describeTransportError(err, stopped, phase, hop?.received ?? 0, request.maxBodyBytes),
        durationMs: elapsed(),
      };
    } finally {
      clearTimeout(timeout);
      unwatch();
    }
  }

  /**
   * Calls `stop` with the signal's reason if it fires before `unwatch()`. One listener per signal
   * however many requests share it: adding and removing a listener per request costs more than
   * a small exchange, and a flow's requests all share one signal.
   */
  private watch(signal: AbortSignal, stop: (reason: unknown) => void): () => void {
    if (signal.aborted) {
      stop(signal.reason);
      return () => {};
    }
    let watcher = this.watchers.get(signal);
    if (!watcher) {
      const stops = new Set<(reason: unknown) => void>();
      // Tearing connections down is left to the next turn of the event loop: whoever aborted
      // (the runner deciding a verdict, say) goes on first instead of waiting for every socket.
      const onAbort = () =>
        setImmediate(() => {
          for (const each of stops) each(signal.reason);
        });
      signal.addEventListener('abort', onAbort, { once: true });
      watcher = { stops, onAbort };
      this.watchers.set(signal, watcher);
    }
    const { stops, onAbort } = watcher;
    stops.add(stop);
    return () => {
      stops.delete(stop);
      if (stops.size === 0 && this.watchers.get(signal) === watcher) {
        signal.removeEventListener('abort', onAbort);
        this.watchers.delete(signal);
      }
    };
  }

  /** Destroys every connection. */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
  }

  private async agentFor(tls: TlsOptions): Promise<Agent> {
    const key = agentKey(tls);
    const existing = this.agents.get(key);
    if (existing) return existing;
    const ca = await trustedCa(tls, (path) => {
      let pending = this.caFiles.get(path);
      if (!pending) {
        pending = readCaFile(path);
        this.caFiles.set(path, pending);
        pending.catch(() => this.caFiles.delete(path));
      }
      return pending;
    });
    const again = this.agents.get(key);
    if (again) return again;
    const base = buildConnector({ ...(ca ? { ca } : {}), rejectUnauthorized: tls.insecure !== true });
    const agent = new Agent({
      connect: (opts, callback) =>
        base(opts, (err, socket) => {
          if (!err && socket && 'getPeerCertificate' in socket) {
            const cert = (socket as TLSSocket).getPeerCertificate();
            if (cert && cert.valid_to)
              this.certificates.set(
                certificateKey(opts.protocol, opts.hostname, opts.port, opts.servername),
                cert,
              );
          }
          (callback as (e: Error | null, s: unknown) => void)(err, socket);
        }),
    });
    this.agents.set(key, agent);
    return agent;
  }

  private certificateOf(url: URL, servername: string | undefined): CertificateInfo | undefined {
    const cert = this.certificates.get(
      certificateKey(url.protocol, url.hostname, url.port, servername ?? sniOf(url.hostname)),
    );
    if (!cert) return undefined;
    const validTo = new Date(cert.valid_to);
    return {
      subject: [cert.subject?.CN ?? ''].flat().join(', '),
      issuer: [cert.issuer?.CN ?? ''].flat().join(', '),
      validTo: validTo.toISOString(),
      daysLeft: Math.floor((validTo.getTime() - Date.now()) / DAY_MS),
    };
  }
}

/** Requests with the same trust settings share an agent (and its connections). */
function agentKey(tls: TlsOptions): string {
  return tls.ca === undefined && tls.caFile === undefined && tls.insecure !== true
    ? ''
    : JSON.stringify([tls.ca ?? null, tls.caFile ?? null, tls.insecure === true]);
}

/** Session cookies are credentials: their values are redacted wherever they turn up later. */
function registerCookieValue(setCookie: string): void {
  registerObservedSecret(/^[^=;]*=([^;]*)/.exec(setCookie)?.[1]?.trim());
}

function sniOf(hostname: string): string | undefined {
  return /^[\d.]+$|:|^\[/.test(hostname) ? undefined : hostname;
}

function certificateKey(
  protocol: string,
  hostname: string,
  port: string,
  servername: string | null | undefined,
): string {
  return `${protocol}//${hostname}:${port || '443'} ${servername ?? ''}`;
}

function hostHeader(headers: Record<string, string>): string | undefined {
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === 'host');
  return entry ? sniOf(entry[1].replace(/:\d+$/, '')) : undefined;
}

export function hasHeader(headers: Record<string, string>, name: string): boolean {
  const wanted = name.toLowerCase();
  return Object.keys(headers).some((k) => k.toLowerCase() === wanted);
}

function pathOf(href: string): string {
  const url = new URL(href);
  return url.pathname + url.search;
}

function normaliseHeaders(
  raw: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'set-cookie') out[key] = Array.isArray(value) ? value : [value];
    else out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
