import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the local AWS server received. */
export interface AwsCall {
  operation: string;
  target: string;
  contentType: string | undefined;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** What a scripted operation answers: a JSON body, an AWS error, or nothing at all (a hang). */
export type AwsReply =
  { status?: number; body: unknown } | { error: string; message?: string; status?: number } | { hang: true };

export type AwsOperationHandler = (call: AwsCall) => AwsReply | Promise<AwsReply>;

export interface AwsJsonServerOptions {
  /** e.g. `CodeDeploy_20141006` or `GraniteServiceVersion20100801`. */
  targetPrefix: string;
  /** `application/x-amz-json-1.1` (CodeDeploy, ECS) or `application/x-amz-json-1.0` (CloudWatch). */
  contentType: string;
}

/**
 * A loopback server that speaks the AWS JSON protocol (POST /, `X-Amz-Target: Prefix.Operation`),
 * so the real SDK clients can be pointed at it with `AWS_ENDPOINT_URL_<SERVICE>`. Operations are
 * scripted per test; every request is recorded; a wrong target prefix or content type is
 * answered with a 400, as AWS would.
 */
export class AwsJsonServer {
  readonly calls: AwsCall[] = [];
  private readonly handlers = new Map<string, AwsOperationHandler>();
  private readonly hanging = new Set<ServerResponse>();
  private server: Server | undefined;

  constructor(private readonly options: AwsJsonServerOptions) {}

  /** Answer `operation` with `handler` (replaces an earlier one). */
  on(operation: string, handler: AwsOperationHandler): this {
    this.handlers.set(operation, handler);
    return this;
  }

  /** Answer the next calls of `operation` in order with `replies`; the last one repeats. */
  script(operation: string, ...replies: AwsReply[]): this {
    let i = 0;
    return this.on(operation, () => replies[Math.min(i++, replies.length - 1)]!);
  }

  callsOf(operation: string): AwsCall[] {
    return this.calls.filter((c) => c.operation === operation);
  }

  reset(): void {
    this.calls.length = 0;
    this.handlers.clear();
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const contentType = req.headers['content-type'];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': this.options.contentType });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !target.startsWith(`${this.options.targetPrefix}.`)) {
      return send(400, {
        __type: 'UnknownOperationException',
        message: `unexpected ${req.method} ${req.url} target ${target}`,
      });
    }
    if (contentType !== this.options.contentType) {
      return send(400, {
        __type: 'SerializationException',
        message: `unexpected content-type ${contentType}`,
      });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return send(400, { __type: 'SerializationException', message: 'body is not JSON' });
    }
    const operation = target.slice(this.options.targetPrefix.length + 1);
    const call: AwsCall = { operation, target, contentType, headers: req.headers, body };
    this.calls.push(call);
    const handler = this.handlers.get(operation);
    if (!handler)
      return send(400, { __type: 'UnknownOperationException', message: `no handler for ${operation}` });
    const reply = await handler(call);
    if ('hang' in reply) {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if ('error' in reply) {
      return send(reply.status ?? 400, { __type: reply.error, message: reply.message ?? reply.error });
    }
    send(reply.status ?? 200, reply.body);
  }
}

/**
 * A service that is down for a while: the first call starts a clock, and for `ms` from then every
 * call gets the next of `faults` in turn; after that, `then` answers.
 */
export function downFor(ms: number, faults: AwsReply[], then: AwsOperationHandler): AwsOperationHandler {
  let since: number | undefined;
  let next = 0;
  return (call) => {
    since ??= Date.now();
    if (Date.now() - since < ms) return faults[next++ % faults.length]!;
    return then(call);
  };
}

/** A local CodeDeploy: JSON 1.1 with the CodeDeploy_20141006 target prefix. */
export function codeDeployServer(): AwsJsonServer {
  return new AwsJsonServer({
    targetPrefix: 'CodeDeploy_20141006',
    contentType: 'application/x-amz-json-1.1',
  });
}

/** A local CloudWatch: the current client speaks JSON 1.0 (`x-amzn-query-mode: true`). */
export function cloudWatchServer(): AwsJsonServer {
  return new AwsJsonServer({
    targetPrefix: 'GraniteServiceVersion20100801',
    contentType: 'application/x-amz-json-1.0',
  });
}

/**
 * Answers a call by passing it on, unchanged, to another server that speaks the same protocol
 * (moto's, say), and returns that server's answer as a reply.
 */
export async function forwardCall(url: string, call: AwsCall): Promise<AwsReply & { status?: number }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': call.contentType ?? 'application/x-amz-json-1.1',
      'x-amz-target': call.target,
      authorization: String(call.headers.authorization ?? ''),
    },
    body: JSON.stringify(call.body),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) {
    const type = String(body.__type ?? 'InternalFailure');
    return {
      status: response.status,
      error: type.slice(type.lastIndexOf('#') + 1),
      message: String(body.message ?? ''),
    };
  }
  return { body };
}
