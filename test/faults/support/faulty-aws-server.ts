import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** How the local AWS endpoint answers one request. */
export type AwsFault =
  | { body: unknown; status?: number }
  | { error: string; message?: string; status?: number }
  /** Read the request, never answer. */
  | { hang: true }
  /** Read the request, then drop the connection with a TCP reset. */
  | { reset: true }
  /** Answer this text as the body, e.g. something that is not JSON. */
  | { raw: string; status?: number };

/** One request the endpoint received and how it was answered. */
export interface FaultyCall {
  operation: string;
  body: Record<string, unknown>;
  receivedAt: number;
  answer?: AwsFault;
}

export type FaultyHandler = (call: FaultyCall) => AwsFault | Promise<AwsFault>;

/**
 * A loopback endpoint speaking the AWS JSON protocol (POST /, `X-Amz-Target: Prefix.Operation`)
 * that can also misbehave at the transport level: hang, reset, or answer garbage. The real SDK
 * clients reach it through `AWS_ENDPOINT_URL_<SERVICE>` or an explicit `endpoint`.
 */
export class FaultyAwsServer {
  readonly calls: FaultyCall[] = [];
  private readonly handlers = new Map<string, FaultyHandler>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(private readonly protocol: { targetPrefix: string; contentType: string }) {}

  on(operation: string, handler: FaultyHandler): this {
    this.handlers.set(operation, handler);
    return this;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const prefix = `${this.protocol.targetPrefix}.`;
    const send = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': this.protocol.contentType });
      res.end(body);
    };
    if (!target.startsWith(prefix) || req.headers['content-type'] !== this.protocol.contentType) {
      return send(
        400,
        JSON.stringify({ __type: 'UnknownOperationException', message: `unexpected ${target}` }),
      );
    }
    const call: FaultyCall = {
      operation: target.slice(prefix.length),
      body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
      receivedAt: Date.now(),
    };
    this.calls.push(call);
    const handler = this.handlers.get(call.operation);
    const answer: AwsFault = handler
      ? await handler(call)
      : { error: 'UnknownOperationException', message: `no handler for ${call.operation}` };
    call.answer = answer;
    if ('hang' in answer) return;
    if ('reset' in answer) return req.socket.resetAndDestroy() as unknown as void;
    if ('raw' in answer) return send(answer.status ?? 200, answer.raw);
    if ('error' in answer) {
      return send(
        answer.status ?? 400,
        JSON.stringify({ __type: answer.error, message: answer.message ?? answer.error }),
      );
    }
    send(answer.status ?? 200, JSON.stringify(answer.body));
  }
}

/**
 * Faults handed out one per request, in order; `undefined` once they are used up (the caller
 * then answers normally). With `repeat`, the last fault repeats for ever.
 */
export function faultSequence(faults: AwsFault[], repeat = false): () => AwsFault | undefined {
  let i = 0;
  return () => (i < faults.length ? faults[i++] : repeat ? faults[faults.length - 1] : undefined);
}

const PUT = 'PutLifecycleEventHookExecutionStatus';

/** A report CodeDeploy accepted. */
export interface AcceptedReport {
  deploymentId: string;
  lifecycleEventHookExecutionId: string;
  status: string;
  receivedAt: number;
}

/**
 * A local CodeDeploy that behaves like the real one where it matters to a hook: the first valid
 * report of an execution completes it, any later one is LifecycleEventAlreadyCompletedException.
 * Faults are scripted per execution id, so scenarios can run at the same time.
 */
export class LocalCodeDeploy {
  readonly server = new FaultyAwsServer({
    targetPrefix: 'CodeDeploy_20141006',
    contentType: 'application/x-amz-json-1.1',
  });
  readonly accepted: AcceptedReport[] = [];
  private readonly faults = new Map<string, () => AwsFault | undefined>();
  private readonly completed = new Set<string>();

  constructor() {
    this.server.on(PUT, (call) => {
      const id = String(call.body.lifecycleEventHookExecutionId);
      const fault = this.faults.get(id)?.();
      if (fault) return fault;
      const status = String(call.body.status);
      if (status !== 'Succeeded' && status !== 'Failed') {
        return {
          error: 'InvalidLifecycleEventHookExecutionStatusException',
          message: `bad status ${status}`,
        };
      }
      if (this.completed.has(id)) {
        return {
          error: 'LifecycleEventAlreadyCompletedException',
          message: `The lifecycle event ${id} is already completed`,
        };
      }
      this.completed.add(id);
      this.accepted.push({
        deploymentId: String(call.body.deploymentId),
        lifecycleEventHookExecutionId: id,
        status,
        receivedAt: call.receivedAt,
      });
      return { body: { lifecycleEventHookExecutionId: id } };
    });
  }

  /** Answer the reports of this execution with `faults` first (see faultSequence). */
  script(executionId: string, faults: AwsFault[], repeat = false): void {
    this.faults.set(executionId, faultSequence(faults, repeat));
  }

  /** Mark an execution as already reported, as after an earlier invocation or a timeout. */
  complete(executionId: string): void {
    this.completed.add(executionId);
  }

  reportsFor(executionId: string): AcceptedReport[] {
    return this.accepted.filter((r) => r.lifecycleEventHookExecutionId === executionId);
  }

  attemptsFor(executionId: string): FaultyCall[] {
    return this.server.calls.filter((c) => c.body.lifecycleEventHookExecutionId === executionId);
  }
}
