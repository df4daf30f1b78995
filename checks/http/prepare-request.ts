import { isSecretField, registerSecret } from '../../lib/redact';
import { USER_AGENT, hasHeader, type PreparedRequest } from './client';
import { list } from './expect';
import { NEEDS_TEXT } from './parsed-body';
import type { StepContext } from './flow-types';
import { DEFAULT_MARKER_HEADER, DEFAULT_MAX_REDIRECTS, type RequestStep, type TlsOptions } from './step';
import { substitute, substituteDeep } from './variables';

const NO_TLS: TlsOptions = Object.freeze({});

/** `/health?x=1` of a URL, for a step's label. */
export function displayPath(url: URL): string {
  return url.pathname + url.search;
}

/** A step as a request: its URL (target, path, query), headers, body, TLS and limits, with `${name}`s filled in. */
export function prepareRequest(step: RequestStep, sc: StepContext): PreparedRequest {
  const { options, client, variables } = sc;
  let url: URL;
  if (step.url !== undefined) {
    url = new URL(substitute(step.url, variables));
  } else {
    const targetName = options.overrideTarget ?? step.target ?? options.target ?? 'test';
    const base = options.targets[targetName];
    if (!base)
      throw new Error(`unknown target "${targetName}"; known: ${Object.keys(options.targets).join(', ')}`);
    const path = substitute(step.path ?? '/', variables);
    if (step.query)
      url = joinUrl(base, path); // its own: the query is appended below
    else {
      // Requests to the same URL share one parsed, never-modified URL.
      const key = `${targetName} ${path}`;
      url = sc.urls.get(key) ?? joinUrl(base, path);
      sc.urls.set(key, url);
    }
  }
  if (step.query) {
    for (const [key, raw] of Object.entries(step.query)) {
      for (const item of Array.isArray(raw) ? raw : [raw]) {
        const value = substitute(String(item), variables);
        if (isSecretField(key)) registerSecret(value);
        url.searchParams.append(key, value);
      }
    }
  }

  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  if (client.marker) {
    const marker = client.marker === true ? { header: DEFAULT_MARKER_HEADER, value: '1' } : client.marker;
    headers[marker.header] = marker.value;
  }
  const setHeader = (name: string, value: string) => {
    for (const existing of Object.keys(headers))
      if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    headers[name] = value;
    if (sc.secretHeaders.has(name)) {
      registerSecret(value);
      const credentials = /^\S+\s+(\S+)$/.exec(value)?.[1];
      if (credentials) registerSecret(credentials);
    }
  };
  if (client.headers)
    for (const [name, value] of Object.entries(client.headers)) setHeader(name, substitute(value, variables));
  if (step.headers)
    for (const [name, value] of Object.entries(step.headers)) setHeader(name, substitute(value, variables));

  let body: string | undefined;
  if (step.json !== undefined) {
    body = JSON.stringify(substituteDeep(step.json, variables));
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
  } else if (step.form !== undefined) {
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries(step.form))
      form.append(key, substitute(String(value), variables));
    body = form.toString();
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (step.body !== undefined) {
    body = substitute(step.body, variables);
  }

  const follow = step.followRedirects ?? client.followRedirects;
  let tls: TlsOptions = step.tls ? { ...client.tls, ...step.tls } : (client.tls ?? NO_TLS);
  if (tls.servername !== undefined && tls.serverName === undefined)
    tls = { ...tls, serverName: tls.servername };
  if (tls.serverName?.includes('${')) tls = { ...tls, serverName: substitute(tls.serverName, variables) };
  const request: PreparedRequest = {
    method: step.method,
    url,
    headers,
    tls,
    timeoutMs: step.timeoutMs ?? client.requestTimeoutMs,
    maxBodyBytes: client.maxBodyBytes,
    maxRedirects: follow === true ? DEFAULT_MAX_REDIRECTS : follow === false ? 0 : follow,
    secretHeaders: sc.secretHeaders,
  };
  if (body !== undefined) request.body = body;
  if (sc.options.readToEnd) request.readToEnd = true;
  const scan = sc.options.keepResponses === false ? bodyScan(step) : null;
  if (scan) request.scan = scan;
  return request;
}

/**
 * The pieces a step's answer is searched for when nothing else reads its body (only `contains`
 * and `notContains`, or no body assertion at all): that body is scanned as it arrives and never
 * held whole, so a check costs a few KiB however big the answer. Null when something needs the
 * whole text: a regex, equality, JSON, a capture from the body, or a piece only the decoded text
 * can match. (A diff of responses keeps them whole too: the caller passes keepResponses.)
 */
function bodyScan(step: RequestStep): readonly string[] | null {
  const expect = step.expect;
  const pieces = [...list(expect?.body?.contains), ...list(expect?.body?.notContains)];
  const whole =
    expect?.body?.matches !== undefined ||
    expect?.body?.equals !== undefined ||
    !!expect?.json?.length ||
    expect?.schema !== undefined ||
    Object.values(step.captures ?? {}).some((c) => c.json !== undefined || c.regex !== undefined) ||
    pieces.some((piece) => NEEDS_TEXT.test(piece));
  return whole ? null : pieces;
}

/** A target base URL plus a path: `http://alb:8080/api` + `/health?x=1` gives `http://alb:8080/api/health?x=1`. */
export function joinUrl(base: URL, path: string): URL {
  let parts = baseParts.get(base);
  if (!parts) {
    parts = { origin: base.origin, prefix: base.pathname.replace(/\/+$/, ''), search: base.search };
    baseParts.set(base, parts);
  }
  const [pathname, query] = splitOnce(path, '?');
  // One parse of the whole text: cheaper than cloning the base and setting its parts.
  return new URL(
    `${parts.origin}${parts.prefix}${pathname.startsWith('/') ? '' : '/'}${pathname}${query === undefined ? parts.search : `?${query}`}`,
  );
}

/** A target's URL pieces, read once per target rather than once per request (URL getters are not free). */
const baseParts = new WeakMap<URL, { origin: string; prefix: string; search: string }>();

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
