import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { Agent, buildConnector, errors as undiciErrors } from 'undici';
import { version } from '../package.json';
import { registerSecret } from '../lib/redact';
import type { CookieJar } from './http-cookie-jar';
import type { TlsOptions } from './http-step';

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
  /** 0: redirects are answers like any other. */
  maxRedirects: number;
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
  /** Up to `maxBodyBytes`. */
  body: Buffer;
  /** Bytes received from the server, the discarded rest not counted. */
  bodyBytes: number;
  truncated: boolean;
  durationMs: number;
  /** The URL that answered (after redirects). */
  url: URL;
  /** Every URL redirected from, in order. */
  redirects: string[];
  certificate?: CertificateInfo;
}

export type TransportErrorKind =
  'timeout' | 'connect' | 'reset' | 'tls' | 'redirects' | 'aborted' | 'dns' | 'other';

/** A request that produced no usable response. */
export interface TransportError {
  kind: TransportErrorKind;
  message: string;
  code?: string;
  /** Worth another attempt: a refused or reset connection, a timeout. */
  transient: boolean;
}

export type SendResult =
  | { response: HttpResponse; error?: undefined }
  | { error: TransportError; response?: undefined; durationMs: number };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const SECRET_ON_CROSS_ORIGIN = /^(authorization|proxy-authorization|cookie|x-api-key|x-auth-token)$/i;
const DAY_MS = 86_400_000;

class Timeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'Timeout';
  }
}

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

  async send(
    request: PreparedRequest,
    options: { signal: AbortSignal; jar?: CookieJar },
  ): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    // One controller per request, fed by the timeout and the caller's signal (cheaper than AbortSignal.any).
    const controller = new AbortController();
    const signal = controller.signal;
    const timeout = setTimeout(() => controller.abort(new Timeout(request.timeoutMs)), request.timeoutMs);
    const onAbort = () => controller.abort(options.signal.reason);
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });
    let phase = 'connecting';
    let received = 0;
    try {
      const agent = await this.agentFor(request.tls);
      let url = request.url;
      let method = request.method;
      let body = request.body;
      const headers = { ...request.headers };
      const redirects: string[] = [];
      for (;;) {
        const sent = { ...headers };
        const cookie = options.jar?.headerFor(url);
        if (cookie && !hasHeader(sent, 'cookie')) sent.cookie = cookie;
        const servername = request.tls.serverName;
        phase = 'waiting for response headers';
        const res = await agent.request({
          origin: url.origin,
          path: url.pathname + url.search,
          method: method as 'GET',
          headers: sent,
          body: body ?? null,
          signal,
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
          ...(servername ? { servername } : {}),
        } as Parameters<Agent['request']>[0]);
        const responseHeaders = normaliseHeaders(res.headers);
        const setCookie = responseHeaders['set-cookie'] as string[] | undefined;
        if (setCookie?.length) {
          for (const header of setCookie) registerCookieValue(header);
          options.jar?.storeFromResponse(url, setCookie);
        }
        const location = responseHeaders.location;
        if (request.maxRedirects > 0 && REDIRECTS.has(res.statusCode) && typeof location === 'string') {
          // A small redirect body is read so the connection can be reused; a big one closes it.
          await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
          redirects.push(url.href);
          const next = new URL(location, url);
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
          if (next.origin !== url.origin) {
            for (const name of Object.keys(headers))
              if (SECRET_ON_CROSS_ORIGIN.test(name)) delete headers[name];
          }
          if (
            res.statusCode === 303 ||
            ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')
          ) {
            method = method === 'HEAD' ? 'HEAD' : 'GET';
            body = undefined;
            for (const name of Object.keys(headers))
              if (/^content-(type|length)$/i.test(name)) delete headers[name];
          }
          url = next;
          continue;
        }
        phase = 'reading the body';
        const { chunks, kept, truncated } = await readCapped(
          res.body,
          request.maxBodyBytes,
          (n) => (received += n),
        );
        const response: HttpResponse = {
          status: res.statusCode,
          headers: responseHeaders,
          body: Buffer.concat(chunks, kept),
          bodyBytes: received,
          truncated,
          durationMs: elapsed(),
          url,
          redirects,
        };
        const certificate =
          url.protocol === 'https:' ? this.certificateOf(url, servername ?? hostHeader(headers)) : undefined;
        if (certificate) response.certificate = certificate;
        return { response };
      }
    } catch (err) {
      return { error: describeTransportError(err, signal, phase, received), durationMs: elapsed() };
    } finally {
      clearTimeout(timeout);
      options.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Destroys every connection. */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.destroy().catch(() => undefined)));
  }

  private async agentFor(tls: TlsOptions): Promise<Agent> {
    const key = JSON.stringify([tls.ca ?? null, tls.caFile ?? null, tls.insecure === true]);
    const existing = this.agents.get(key);
    if (existing) return existing;
    let ca = tls.ca;
    if (tls.caFile) {
      let pending = this.caFiles.get(tls.caFile);
      if (!pending) {
        pending = readFile(tls.caFile, 'utf8');
        this.caFiles.set(tls.caFile, pending);
      }
      try {
        ca = (ca ? `${ca}\n` : '') + (await pending);
      } catch (err) {
        this.caFiles.delete(tls.caFile);
        throw new CaFileError(
          `cannot read CA bundle ${tls.caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    }
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

/** A `tls.caFile` that cannot be read: a configuration problem found at run time. */
export class CaFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaFileError';
  }
}

const MIN_COOKIE_SECRET_LENGTH = 8; // shorter values (`dark`, `en`) are preferences, and redacting them would mangle text

/** Session cookies are credentials: their values are redacted wherever they turn up later. */
function registerCookieValue(setCookie: string): void {
  const value = /^[^=;]*=([^;]*)/.exec(setCookie)?.[1]?.trim();
  if (value && value.length >= MIN_COOKIE_SECRET_LENGTH) registerSecret(value);
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
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (key === 'set-cookie') out[key] = Array.isArray(value) ? value : [value];
    else out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Reads a body up to `cap` bytes, then destroys the stream so the rest is never read (the
 * connection is dropped). Event-driven rather than `for await`, which costs a promise per chunk.
 */
function readCapped(
  body: Readable,
  cap: number,
  onBytes: (n: number) => void,
): Promise<{ chunks: Buffer[]; kept: number; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    const finish = (truncated: boolean) => {
      body.off('data', onData).off('end', onEnd).off('error', onError);
      resolve({ chunks, kept, truncated });
    };
    const onData = (chunk: Buffer) => {
      onBytes(chunk.length);
      const room = cap - kept;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        kept += Math.max(0, room);
        body.on('error', () => undefined);
        body.destroy();
        finish(true);
        return;
      }
      chunks.push(chunk);
      kept += chunk.length;
    };
    const onEnd = () => finish(false);
    const onError = (err: Error) => {
      body.off('data', onData).off('end', onEnd).off('error', onError);
      body.on('error', () => undefined);
      reject(err);
    };
    body.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED', 'UND_ERR_CLOSED']);

function describeTransportError(
  err: unknown,
  signal: AbortSignal,
  phase: string,
  received: number,
): TransportError {
  if (err instanceof CaFileError) return { kind: 'other', transient: false, message: err.message };
  const reason = signal.aborted ? signal.reason : undefined;
  const progress = phase === 'reading the body' ? `reading the body, ${received} bytes received` : phase;
  if (reason instanceof Timeout) {
    return { kind: 'timeout', transient: true, message: `timed out after ${reason.ms} ms (${progress})` };
  }
  if (signal.aborted) {
    const why = reason instanceof Error ? reason.message : String(reason ?? 'aborted');
    return { kind: 'aborted', transient: false, message: `stopped while ${progress}: ${why}` };
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const inner = e?.cause && typeof e.cause === 'object' ? e.cause : undefined;
  const code = e?.code ?? inner?.code;
  const message = (e?.message || inner?.message || String(err)).split('\n')[0]!;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return {
      kind: 'timeout',
      transient: true,
      message: `timed out (${progress}): ${message}`,
      ...(code ? { code } : {}),
    };
  }
  if (code && CONNECT_CODES.has(code)) return { kind: 'connect', transient: true, code, message };
  if (code && RESET_CODES.has(code))
    return { kind: 'reset', transient: true, code, message: `${message} (${progress})` };
  if (code === 'EAI_AGAIN') return { kind: 'dns', transient: true, code, message };
  if (code === 'ENOTFOUND') return { kind: 'dns', transient: false, code, message };
  if (
    code &&
    (/^ERR_TLS|^ERR_SSL|CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME/.test(code) ||
      /certificate|ssl|tls/i.test(message))
  ) {
    return { kind: 'tls', transient: false, code, message: `TLS: ${message}` };
  }
  return { kind: 'other', transient: false, message, ...(code ? { code } : {}) };
}
