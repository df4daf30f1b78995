import type { Dispatcher } from 'undici';
import { BodyScanner } from './body-scan';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const REDIRECT_BODY_LIMIT = 64 * 1024; // a small redirect body is read so the connection can be reused
const INITIAL_BODY_BYTES = 16 * 1024; // the first buffer of a body whose length was not given, at least
const EMPTY_BODY = Buffer.alloc(0);

export interface HopAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  received: number;
  truncated: boolean;
  /** A redirect to follow: its body was discarded. */
  redirect: boolean;
  scanned?: ReadonlyMap<string, string | null>;
}

/** What is kept of a body that is scanned: enough for the excerpt a failed assertion shows. */
export const SCANNED_PREFIX_BYTES = 4096;

/**
 * One request/response exchange through undici's dispatch API: the body is collected straight
 * from the parser, up to a cap, without a stream or a per-request AbortController (both cost
 * more than the rest of a small exchange). Past the cap the exchange is aborted, which drops
 * the connection so the rest is never read; or, with `readToEnd`, each chunk is dropped as it
 * arrives and the exchange ends with the body: an answer whose body never ends is no answer (a
 * browser would still be loading it), and the request's timeout ends it as one.
 *
 * Each chunk is copied as it arrives into one buffer, sized up front from Content-Length (never
 * past the cap), so the socket's read buffers go at once and a body costs its own size once,
 * not a list of chunks plus their concatenation. Without a usable Content-Length the buffer
 * starts small and doubles, up to the cap.
 */
export class Hop implements Dispatcher.DispatchHandler {
  readonly answer: Promise<HopAnswer>;
  received = 0;
  private controller?: Dispatcher.DispatchController;
  private stoppedBy: unknown;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private body: Buffer = EMPTY_BODY;
  private kept = 0;
  /** Content-Length, when the server gave one (0 otherwise). */
  private declared = 0;
  private redirect = false;
  private settled = false;
  private scanner?: BodyScanner;
  /** Bytes kept (the whole body) or scanned: what the cap counts. */
  private read = 0;
  /** More arrived than the cap lets through. */
  private truncated = false;
  private resolve!: (answer: HopAnswer) => void;
  private reject!: (err: unknown) => void;

  constructor(
    private readonly maxBodyBytes: number,
    private readonly followRedirects: boolean,
    private readonly onBodyStart: () => void,
    private readonly scan?: readonly string[],
    private readonly readToEnd = false,
  ) {
    this.answer = new Promise<HopAnswer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** Ends the exchange now with `reason`; a request still queued for a connection is aborted when it starts. */
  stop(reason: unknown): void {
    this.stoppedBy = reason;
    this.controller?.abort(reason as Error);
    this.fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.stoppedBy !== undefined) controller.abort(this.stoppedBy as Error);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return; // 1xx informational answers come before the real one
    this.status = statusCode;
    this.headers = headers;
    this.redirect = this.followRedirects && REDIRECTS.has(statusCode) && typeof headers.location === 'string';
    const declared = Number(headers['content-length']);
    this.declared = Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
    if (this.scan && !this.redirect) this.scanner = new BodyScanner(this.scan);
    this.onBodyStart();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.received += chunk.length;
    if (this.redirect) {
      if (this.received > REDIRECT_BODY_LIMIT) {
        this.finish(false);
        controller.abort(new BodyCapReached());
      }
      return;
    }
    const room = this.maxBodyBytes - this.read;
    if (chunk.length > room) this.truncated = true;
    const take = Math.min(chunk.length, room);
    if (take > 0) {
      this.read += take;
      const keep = this.scanner ? Math.min(take, SCANNED_PREFIX_BYTES - this.kept) : take;
      if (keep > 0) {
        if (this.kept + keep > this.body.length) this.grow(this.kept + keep);
        chunk.copy(this.body, this.kept, 0, keep);
        this.kept += keep;
      }
      this.scanner?.write(take === chunk.length ? chunk : chunk.subarray(0, take));
    }
    if (this.truncated && !this.readToEnd) {
      this.finish(true);
      controller.abort(new BodyCapReached());
    }
  }

  /**
   * Room for `needed` bytes, at most the cap: first the declared length, else a small buffer
   * that doubles. Allocated at the first chunk, so an answer without a body (HEAD, 304) costs none.
   */
  private grow(needed: number): void {
    const wanted =
      this.kept === 0
        ? this.declared || INITIAL_BODY_BYTES
        : Math.max(this.body.length * 2, INITIAL_BODY_BYTES);
    const cap = this.scanner ? Math.min(SCANNED_PREFIX_BYTES, this.maxBodyBytes) : this.maxBodyBytes;
    const size = Math.min(cap, Math.max(needed, wanted));
    // Filled before it is read: no need to zero it.
    const bigger = Buffer.allocUnsafe(size);
    if (this.kept) this.body.copy(bigger, 0, 0, this.kept);
    this.body = bigger;
  }

  onResponseEnd(): void {
    this.finish(this.truncated);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  private finish(truncated: boolean): void {
    if (this.settled) return;
    this.settled = true;
    const body = this.kept === this.body.length ? this.body : this.body.subarray(0, this.kept);
    this.body = EMPTY_BODY;
    this.resolve({
      status: this.status,
      headers: this.headers,
      body,
      received: this.received,
      truncated,
      redirect: this.redirect,
      ...(this.scanner && { scanned: this.scanner.end() }),
    });
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.body = EMPTY_BODY;
    this.reject(err);
  }
}

/** The reason a body read past its cap is aborted: the answer is already complete by then. */
export class BodyCapReached extends Error {
  constructor() {
    super('body cap reached');
    this.name = 'BodyCapReached';
  }
}
