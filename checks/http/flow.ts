import { setMaxListeners } from 'node:events';
import type { Logger } from '../../lib/log';
import {
  isSecretField,
  REDACTED,
  redactText,
  registerObservedSecret,
  registerSecret,
  secretNames,
  type SecretNames,
} from '../../lib/redact';
import { worstOutcome } from '../verdict';
import type { Assertion, Outcome } from '../types';
import { CookieJar } from './cookie-jar';
import {
  HttpClient,
  USER_AGENT,
  hasHeader,
  type CertificateInfo,
  type HttpResponse,
  type PreparedRequest,
  type SendResult,
  type TransportError,
} from './client';
import {
  NEEDS_TEXT,
  ParsedBody,
  clip,
  compileJsonSchema,
  evaluateExpect,
  excerpt,
  jmesPath,
  list,
  type ExpectContext,
} from './expect';
import { MIN_ATTEMPT_MS, TRANSIENT_STATUSES, backoffDelay, retryAfterMs, sleep } from './retry';
import {
  DEFAULT_MARKER_HEADER,
  DEFAULT_MAX_REDIRECTS,
  clientOptionsSchema,
  type Capture,
  type ClientOptions,
  type RequestStep,
  type RetryPolicy,
  type TlsOptions,
} from './step';

export { CookieJar } from './cookie-jar';
export { HttpClient, USER_AGENT, type HttpResponse } from './client';
export {
  captureSchema,
  clientOptionFields,
  clientOptionsSchema,
  expectSchema,
  requestStepSchema,
  retrySchema,
  tlsSchema,
  type Capture,
  type ClientOptions,
  type Expect,
  type RequestStep,
  type RetryPolicy,
  type TlsOptions,
} from './step';

/** Polls the first request until it passes, for an endpoint that may still be starting. */
export interface ReadinessWait {
  /** How long to keep polling, from the start of the flow. */
  budgetMs: number;
  /** Pause between polls (±10 % jitter). */
  intervalMs: number;
}

/** How to run a flow. Only `targets`, `signal` and `deadline` are required. */
export interface FlowOptions {
  /** Named base URLs: `test` (green on the test listener) and usually `prod` (blue). */
  targets: Readonly<Record<string, URL>>;
  /** Stops everything at once (hook deadline, fail-fast). */
  signal: AbortSignal;
  /** Epoch ms: no attempt or retry starts that could not finish by then. */
  deadline: number;
  /** Client settings (parsed `clientOptionsSchema`); defaults when absent. */
  client?: ClientOptions;
  /** Target of steps that name none (default `test`). */
  target?: string;
  /** Sends every target-relative step to this target, whatever it names (used to diff blue and green). */
  overrideTarget?: string;
  /** Shared cookies; a fresh jar when absent. Pass the same jar to chain flows. */
  jar?: CookieJar;
  /** Values usable as `${name}` before any capture. */
  variables?: Readonly<Record<string, string>>;
  /** Requests at once; above 1 the steps must not depend on each other's captures. Default 1 (in order). */
  concurrency?: number;
  readiness?: ReadinessWait;
  /** A client to reuse (its connections stay open); otherwise one is made and closed. */
  http?: HttpClient;
  /** Keep each step's last response in its result (default true); false lets bodies go as soon as they are judged. */
  keepResponses?: boolean;
  /** Read each body past maxBodyBytes to its end (see PreparedRequest.readToEnd); default: stop at the cap. */
  readToEnd?: boolean;
  log?: Logger;
}

/** What happened to one step. */
export interface StepResult {
  index: number;
  /** `name`, else `METHOD /path`. */
  label: string;
  method: string;
  /** The URL requested (first hop), as text. */
  url: string;
  outcome: Outcome;
  /**
   * One line: method, URL, status or error, what was expected, duration, attempts. Not redacted
   * (that would cost a scan per request): `FlowResult.message`, built from these, is.
   */
  message: string;
  /** This step's evidence; `what` is prefixed with the label. */
  assertions: Assertion[];
  attempts: number;
  /** Of the last attempt. */
  durationMs: number;
  status?: number;
  truncated?: boolean;
  /** Body bytes received from the server, the discarded rest past the cap included. */
  bytesReceived?: number;
  /** Every URL redirected from, in order. */
  redirects?: string[];
  certificate?: CertificateInfo;
  /**
   * What each retry followed, outside a readiness wait: a status (`503`) or an error code or
   * kind (`ECONNRESET`, `timeout`). Absent when the request needed no retry.
   */
  retriedAfter?: string[];
  /**
   * The last response, when there was one (the body is capped), unless `keepResponses` is
   * false. Not for reports: it may hold secrets.
   */
  response?: HttpResponse;
  error?: TransportError;
}

/** The result of a flow: worst step wins. */
export interface FlowResult {
  outcome: Outcome;
  message: string;
  assertions: Assertion[];
  /** Steps that ran, in order. */
  steps: StepResult[];
  /** Steps not sent because an earlier one did not pass. */
  skipped: number;
  /** Captured values (and the initial ones). May hold secrets: they are registered for redaction. */
  variables: Record<string, string>;
  /** Some request skipped certificate verification. */
  insecure: boolean;
  durationMs: number;
}

const NO_TLS: TlsOptions = Object.freeze({});
const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Runs HTTP request steps against the targets, in order (or `concurrency` at once), with one
 * cookie jar, captures usable as `${name}` in later steps, and retries that tell transient
 * failures (refused or reset connections, timeouts, 408/429/502/503/504, honouring
 * Retry-After) from deterministic ones (other answers, assertion mismatches: no retry unless
 * `retry.onMismatch`). Every wait fits inside `deadline` and stops on `signal`. Never throws for
 * a network or server problem: it ends in an outcome with the reason.
 */
export async function runFlow(steps: readonly RequestStep[], options: FlowOptions): Promise<FlowResult> {
  const started = performance.now();
  const client = options.client ?? clientOptionsSchema.parse({});
  const http = options.http ?? new HttpClient();
  const jar = options.jar ?? new CookieJar();
  const variables: Record<string, string> = { ...options.variables };
  const secretHeaders = secretNames(client.secretHeaders);
  const expectCtx: ExpectContext = { secretHeaders, schema: compileJsonSchema };
  const results: StepResult[] = [];
  let insecure = false;
  const relay = new AbortController();
  setMaxListeners(0, relay.signal);
  const onAbort = () => relay.abort(options.signal.reason);
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener('abort', onAbort, { once: true });

  const stepContext: StepContext = {
    options,
    signal: relay.signal,
    client,
    http,
    jar,
    variables,
    secretHeaders,
    expectCtx,
    readiness: undefined,
    urls: new Map(),
  };
  const runStep = (index: number): Promise<StepResult> => {
    const step = steps[index]!;
    if (step.tls?.insecure ?? client.tls?.insecure) insecure = true;
    const sc =
      index === 0 && options.readiness ? { ...stepContext, readiness: options.readiness } : stepContext;
    return executeStep(step, index, sc);
  };

  let skipped = 0;
  try {
    const concurrency = Math.max(1, options.concurrency ?? 1);
    if (concurrency === 1) {
      for (let i = 0; i < steps.length; i++) {
        const result = await runStep(i);
        results.push(result);
        if (result.outcome !== 'passed') {
          skipped = steps.length - i - 1;
          break;
        }
      }
    } else {
      const slots: StepResult[] = new Array(steps.length);
      let next = 0;
      if (options.readiness) {
        // Wait until ready before sending the rest at once.
        slots[0] = await runStep(0);
        next = 1;
        if (slots[0].outcome !== 'passed') {
          skipped = steps.length - 1;
          next = steps.length;
        }
      }
      const worker = async () => {
        while (next < steps.length) {
          const i = next++;
          slots[i] = await runStep(i);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, steps.length) }, worker));
      results.push(...slots.filter(Boolean));
    }
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    if (!options.http) await http.close();
  }

  const outcome = steps.length === 0 ? 'inconclusive' : worstOutcome(results.map((r) => r.outcome));
  const durationMs = Math.round(performance.now() - started);
  return {
    outcome,
    message: redactText(flowMessage(results, outcome, skipped, durationMs)),
    assertions: results.flatMap((r) => r.assertions),
    steps: results,
    skipped,
    variables,
    insecure,
    durationMs,
  };
}

function flowMessage(results: StepResult[], outcome: Outcome, skipped: number, durationMs: number): string {
  if (results.length === 0) return 'no requests configured';
  if (outcome === 'passed') {
    return results.length === 1
      ? results[0]!.message
      : `${results.length} requests passed in ${formatMs(durationMs)} (last: ${results[results.length - 1]!.message})`;
  }
  const culprit = results.find((r) => r.outcome === outcome)!;
  const others = results.filter((r) => r !== culprit && r.outcome !== 'passed').length;
  const notes = [
    ...(results.length + skipped > 1 ? [`request ${culprit.index + 1} of ${results.length + skipped}`] : []),
    ...(others ? [`+${others} more not passed`] : []),
    ...(skipped ? [`${skipped} later request${skipped === 1 ? '' : 's'} not sent`] : []),
  ];
  return notes.length ? `${culprit.message}; ${notes.join(', ')}` : culprit.message;
}

/** `850 ms`, `1.2 s`. */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

interface StepContext {
  options: FlowOptions;
  /** The caller's signal, relayed through one controller of our own that many requests may listen to. */
  signal: AbortSignal;
  client: ClientOptions;
  http: HttpClient;
  jar: CookieJar;
  variables: Record<string, string>;
  secretHeaders: SecretNames;
  expectCtx: ExpectContext;
  readiness: ReadinessWait | undefined;
  /** Parsed target-relative URLs by target and path. */
  urls: Map<string, URL>;
}

async function executeStep(step: RequestStep, index: number, sc: StepContext): Promise<StepResult> {
  const { options, client } = sc;
  const method = step.method;
  let prepared: PreparedRequest;
  try {
    prepared = prepareRequest(step, sc);
  } catch (err) {
    const label = step.name ?? `${method} ${step.path ?? step.url ?? '/'}`;
    const message = redactText(`${label}: ${(err as Error).message}`);
    return {
      index,
      label,
      method,
      url: step.url ?? step.path ?? '/',
      outcome: 'error',
      message,
      assertions: [],
      attempts: 0,
      durationMs: 0,
    };
  }
  const url = prepared.url.href;
  const label = step.name ?? `${method} ${displayPath(prepared.url)}`;
  const policy: RetryPolicy = step.retry ? { ...client.retry, ...step.retry } : client.retry;
  const started = Date.now();
  const readinessEnd = sc.readiness ? Math.min(options.deadline, started + sc.readiness.budgetMs) : undefined;
  const timeoutMs = prepared.timeoutMs;
  const sendOptions = { signal: sc.signal, jar: sc.jar };
  let attempts = 0;
  let last: StepResult | undefined;
  let note = '';
  const retriedAfter: string[] = [];

  for (;;) {
    attempts++;
    prepared.timeoutMs = Math.max(1, Math.min(timeoutMs, options.deadline - Date.now()));
    const sent = await sc.http.send(prepared, sendOptions);
    last = judge(step, index, label, method, url, sent, sc);
    if (options.log) logAttempt(options.log, last, attempts);
    if (last.outcome === 'passed' || sc.signal.aborted || last.error?.kind === 'aborted') break;

    const transient = last.error
      ? last.error.transient
      : last.status !== undefined && TRANSIENT_STATUSES.has(last.status);
    const retryable = readinessEnd !== undefined || transient || policy.onMismatch;
    if (!retryable) break;
    if (readinessEnd === undefined && attempts >= policy.attempts) break;

    const endBy = readinessEnd ?? options.deadline;
    const asked =
      last.status === 429 || last.status === 503
        ? retryAfterMs(last.response?.headers['retry-after'])
        : undefined;
    const delay =
      asked ??
      (readinessEnd !== undefined
        ? Math.round(sc.readiness!.intervalMs * (0.9 + Math.random() * 0.2))
        : backoffDelay(policy, attempts));
    if (Date.now() + delay + MIN_ATTEMPT_MS > endBy) {
      note =
        asked !== undefined
          ? `Retry-After asked for ${formatMs(asked)}, past the deadline`
          : readinessEnd !== undefined
            ? `not ready within ${formatMs(sc.readiness!.budgetMs)}`
            : 'no time left for another attempt';
      break;
    }
    options.log?.info('http retry', {
      request: label,
      url,
      attempt: attempts,
      delayMs: delay,
      reason: last.error?.message ?? `status ${last.status}`,
    });
    if (!(await sleep(delay, sc.signal))) break;
    // Polls while waiting for readiness are expected to fail: only real retries count against the budget.
    if (readinessEnd === undefined)
      retriedAfter.push(
        last.status !== undefined ? String(last.status) : (last.error?.code ?? last.error?.kind ?? 'failure'),
      );
  }

  const result = last!;
  result.attempts = attempts;
  if (retriedAfter.length) result.retriedAfter = retriedAfter;
  if (attempts > 1 || note) {
    const extras: string[] = [];
    if (attempts > 1)
      extras.push(
        `${attempts} attempts${readinessEnd !== undefined ? ` over ${formatMs(Date.now() - started)}` : ''}`,
      );
    if (note) extras.push(note);
    result.message += ` [${extras.join('; ')}]`;
  }
  if (result.outcome === 'passed' && step.captures) capture(step.captures, result, sc);
  // Bodies are up to maxBodyBytes each: most callers only need the facts judge() copied out.
  // (Assigned, not deleted: a delete would turn the result into a slow dictionary object.)
  if (options.keepResponses === false) result.response = undefined;
  return result;
}

function logAttempt(log: Logger, result: StepResult, attempt: number): void {
  const attributes: Record<string, unknown> = {
    request: result.label,
    method: result.method,
    url: result.url,
    attempt,
    outcome: result.outcome,
    durationMs: result.durationMs,
  };
  if (result.status !== undefined) attributes.status = result.status;
  if (result.error) attributes.error = result.error.message;
  log.debug('http request', attributes);
}

function judge(
  step: RequestStep,
  index: number,
  label: string,
  method: string,
  url: string,
  sent: SendResult,
  sc: StepContext,
): StepResult {
  if (sent.error) {
    const error = sent.error;
    // A certificate the client does not trust, or an endless redirect, is how green answers: failed.
    const outcome: Outcome = error.kind === 'tls' || error.kind === 'redirects' ? 'failed' : 'error';
    const verb = error.kind === 'timeout' ? '' : 'failed: ';
    return {
      index,
      label,
      method,
      url,
      outcome,
      message: `${method} ${url} ${verb}${error.message}`,
      assertions: [
        { what: `${label} response`, expected: 'an HTTP response', actual: error.message, ok: false },
      ],
      attempts: 0,
      durationMs: sent.durationMs,
      error,
    };
  }
  const response = sent.response;
  registerSecretHeaderValues(response, sc.secretHeaders);
  const assertions = evaluateExpect(step.expect, new ParsedBody(response), sc.expectCtx);
  let message = `${method} ${url} returned ${response.status}`;
  let failures = 0;
  for (const a of assertions) {
    if (a.ok) continue;
    if (++failures === 1)
      message +=
        a.what === 'status'
          ? `, expected ${describeStatus(a.expected)}`
          : `, but ${a.what}: expected ${show(a.expected)}, got ${show(a.actual)}`;
  }
  // The assertions are fresh objects: label them in place.
  for (const a of assertions) a.what = `${label} ${a.what}`;
  let facts = formatMs(response.durationMs);
  if (response.redirects.length)
    facts += `, after ${response.redirects.length} redirect${response.redirects.length === 1 ? '' : 's'}`;
  if (response.truncated) facts += `, body truncated at ${sc.client.maxBodyBytes} bytes`;
  message += ` (${facts})`;
  if (failures > 1) message += `; +${failures - 1} more failed assertion${failures === 2 ? '' : 's'}`;
  return {
    index,
    label,
    method,
    url,
    outcome: failures ? 'failed' : 'passed',
    message,
    assertions,
    attempts: 0,
    durationMs: response.durationMs,
    status: response.status,
    truncated: response.truncated,
    bytesReceived: response.bodyBytes,
    redirects: response.redirects.length ? response.redirects : undefined,
    certificate: response.certificate,
    response,
  };
}

/**
 * An answer's secret headers (`x-debug-token`, `x-session-secret`) are redacted by name where
 * they are shown, and their values wherever else they turn up: in an excerpt of a body that
 * echoes them, or in a URL built from a capture. (The client registers cookie values itself.)
 */
function registerSecretHeaderValues(response: HttpResponse, secret: SecretNames): void {
  for (const name in response.headers) {
    if (name === 'set-cookie' || !secret.has(name)) continue;
    const value = response.headers[name]!;
    if (Array.isArray(value)) for (const each of value) registerObservedSecret(each);
    else registerObservedSecret(value);
  }
}

function describeStatus(expected: unknown): string {
  return Array.isArray(expected) ? `one of ${expected.join(', ')}` : String(expected);
}

function show(value: unknown): string {
  return clip(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)), 160);
}

function capture(captures: Record<string, Capture>, result: StepResult, sc: StepContext): void {
  const response = result.response!;
  const body = new ParsedBody(response);
  for (const [name, source] of Object.entries(captures)) {
    let value: string | undefined;
    let why = 'nothing matched';
    let from: string;
    if (source.header !== undefined) {
      from = `header ${source.header}`;
      const raw = response.headers[source.header.toLowerCase()];
      value = Array.isArray(raw) ? raw.join(', ') : raw;
    } else if (source.cookie !== undefined) {
      from = `cookie ${source.cookie}`;
      value = sc.jar.get(source.cookie, response.url);
    } else if (source.json !== undefined) {
      from = `json ${source.json}`;
      const parsed = body.json();
      if ('error' in parsed) why = parsed.error;
      else {
        const found = jmesPath(source.json, parsed.value);
        if ('error' in found) why = found.error;
        else if (found.value !== null && found.value !== undefined)
          value = typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
      }
    } else {
      from = `regex /${source.regex}/`;
      const m = new RegExp(source.regex!).exec(body.text);
      if (m) value = m[1] ?? m[0];
      else why = `no match in ${excerpt(body.text)}`;
    }
    const secret =
      source.secret ??
      (source.cookie !== undefined ||
        isSecretField(name) ||
        (source.header !== undefined && sc.secretHeaders.has(source.header)) ||
        (source.json !== undefined && isSecretField(lastField(source.json))));
    if (value !== undefined) {
      if (secret) registerSecret(value);
      sc.variables[name] = value;
      result.assertions.push({
        what: `${result.label} capture ${name}`,
        expected: from,
        actual: secret ? REDACTED : value,
        ok: true,
      });
    } else {
      result.assertions.push({
        what: `${result.label} capture ${name}`,
        expected: from,
        actual: why,
        ok: false,
      });
      if (result.outcome === 'passed') {
        result.outcome = 'failed';
        result.message = redactText(
          `${result.method} ${result.url} returned ${result.status}, but capture ${name} (${from}) found ${why}`,
        );
      }
    }
  }
}

/** The last field a JMESPath expression names: `access_token` in `data.access_token`. */
function lastField(expression: string): string {
  return /([A-Za-z_][\w-]*)[^A-Za-z_]*$/.exec(expression)?.[1] ?? '';
}

function displayPath(url: URL): string {
  return url.pathname + url.search;
}

/** Replaces `${name}` with captured or given values; an unknown name throws (the config check prevents it). */
export function substitute(text: string, variables: Readonly<Record<string, string>>): string {
  if (!text.includes('${')) return text;
  return text.replace(VARIABLE, (whole, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new Error(`variable \${${name}} has no value (was its capture skipped?)`);
    return value;
  });
}

function substituteDeep(value: unknown, variables: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return substitute(value, variables);
  if (Array.isArray(value)) return value.map((v) => substituteDeep(v, variables));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteDeep(v, variables)]));
  }
  return value;
}

function prepareRequest(step: RequestStep, sc: StepContext): PreparedRequest {
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
  if (tls.serverName?.includes('${')) tls = { ...tls, serverName: substitute(tls.serverName, variables) };
  const request: PreparedRequest = {
    method: step.method,
    url,
    headers,
    tls,
    timeoutMs: step.timeoutMs ?? client.requestTimeoutMs,
    maxBodyBytes: client.maxBodyBytes,
    maxRedirects: follow === true ? DEFAULT_MAX_REDIRECTS : follow === false ? 0 : follow,
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

/** A `${name}` used where no earlier step captured it (nor was it given): for config validation. */
export interface VariableProblem {
  /** e.g. `requests[1].headers.authorization`. */
  path: string;
  message: string;
}

/**
 * Finds `${name}` references that no earlier step captures and that are not in `given`, so a
 * misspelt variable is a config error at load time rather than a failed deployment. With
 * `independent` (steps run concurrently), no step may use another step's captures.
 */
export function flowVariableProblems(
  steps: readonly RequestStep[],
  given: Iterable<string> = [],
  independent = false,
  prefix = 'requests',
): VariableProblem[] {
  const known = new Set(given);
  const problems: VariableProblem[] = [];
  steps.forEach((step, i) => {
    const where = `${prefix}[${i}]`;
    const visit = (value: unknown, path: string) => {
      if (typeof value === 'string') {
        for (const match of value.matchAll(VARIABLE)) {
          const name = match[1]!;
          if (known.has(name)) continue;
          const capturedLater = steps.some((s, j) => j !== i && s.captures && name in s.captures);
          const why =
            independent && capturedLater
              ? `\${${name}} comes from another request's capture, but requests run concurrently`
              : `unknown variable \${${name}}; ${known.size ? `available: ${[...known].join(', ')}` : 'no variable is captured before this request'}`;
          problems.push({ path, message: why });
        }
      } else if (Array.isArray(value)) value.forEach((v, j) => visit(v, `${path}[${j}]`));
      else if (value !== null && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) visit(v, `${path}.${k}`);
    };
    for (const field of ['path', 'url', 'headers', 'query', 'body', 'json', 'form'] as const)
      visit(step[field], `${where}.${field}`);
    visit(step.tls?.serverName, `${where}.tls.serverName`);
    if (!independent) for (const name of Object.keys(step.captures ?? {})) known.add(name);
  });
  return problems;
}
