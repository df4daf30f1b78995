import type { Logger } from '../../lib/log';
import type { SecretNames } from '../../lib/redact';
import type { Assertion, Outcome } from '../types';
import type { CertificateInfo, HttpClient, HttpResponse } from './client';
import type { CookieJar } from './cookie-jar';
import type { ExpectContext } from './expect';
import type { TransportError } from './transport-errors';
import type { ClientOptions } from './step';

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

/** What every step of one flow shares. */
export interface StepContext {
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
