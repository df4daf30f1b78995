import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the local query-protocol server received: the form fields, flat. */
export interface QueryCall {
  action: string;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
}

/** What a scripted action answers: the `<Action>Result` content, or an AWS error. */
export type QueryReply = { result: unknown } | { error: string; message?: string; status?: number };

export type QueryActionHandler = (call: QueryCall) => QueryReply | Promise<QueryReply>;

export interface AwsQueryServerOptions {
  /** e.g. `2015-12-01` for Elastic Load Balancing v2. */
  version: string;
  /** The XML namespace of replies, e.g. `http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/`. */
  xmlns: string;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );
}

/** Objects become nested elements, arrays `<member>` lists (the query protocol's list shape). */
export function toXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, inner]) => inner !== undefined)
      .map(([key, inner]) => `<${key}>${toXml(inner)}</${key}>`)
      .join('');
  }
  return escapeXml(String(value));
}

/** `ListenerArns.member.1`, `ListenerArns.member.2` ... as a list. */
export function memberList(params: Record<string, string>, name: string): string[] {
  const out: string[] = [];
  for (let i = 1; params[`${name}.member.${i}`] !== undefined; i++) out.push(params[`${name}.member.${i}`]!);
  return out;
}

/**
 * A loopback server that speaks the AWS query protocol (form-encoded `Action=...&Version=...`
 * POSTs, XML replies), so the real SDK clients of query services such as Elastic Load Balancing
 * v2 can be pointed at it with `AWS_ENDPOINT_URL_<SERVICE>`. Actions are scripted per test and
 * every request is recorded; a wrong content type or API version gets a 400, as AWS would.
 */
export class AwsQueryServer {
  readonly calls: QueryCall[] = [];
  private readonly handlers = new Map<string, QueryActionHandler>();
  private server: Server | undefined;

  constructor(private readonly options: AwsQueryServerOptions) {}

  on(action: string, handler: QueryActionHandler): this {
    this.handlers.set(action, handler);
    return this;
  }

  callsOf(action: string): QueryCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  reset(): void {
    this.calls.length = 0;
    this.handlers.clear();
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void this.answer(req, Buffer.concat(chunks).toString('utf8')).then(({ status, body }) => {
          res.writeHead(status, { 'content-type': 'text/xml' });
          res.end(body);
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private error(status: number, code: string, message: string) {
    const body = `<ErrorResponse xmlns="${this.options.xmlns}"><Error><Type>Sender</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>local-query</RequestId></ErrorResponse>`;
    return { status, body };
  }

  private async answer(req: IncomingMessage, text: string): Promise<{ status: number; body: string }> {
    const contentType = String(req.headers['content-type'] ?? '');
    if (req.method !== 'POST' || !contentType.startsWith('application/x-www-form-urlencoded')) {
      return this.error(400, 'InvalidRequest', `unexpected ${req.method} with content-type ${contentType}`);
    }
    const params = Object.fromEntries(new URLSearchParams(text));
    const action = params.Action ?? '';
    if (params.Version !== this.options.version) {
      return this.error(400, 'InvalidAction', `unexpected Version ${params.Version}`);
    }
    this.calls.push({ action, params, headers: req.headers });
    const handler = this.handlers.get(action);
    if (!handler) return this.error(400, 'InvalidAction', `no handler for ${action}`);
    const reply = await handler({ action, params, headers: req.headers });
    if ('error' in reply) return this.error(reply.status ?? 400, reply.error, reply.message ?? reply.error);
    const body =
      `<${action}Response xmlns="${this.options.xmlns}"><${action}Result>${toXml(reply.result)}</${action}Result>` +
      `<ResponseMetadata><RequestId>local-query</RequestId></ResponseMetadata></${action}Response>`;
    return { status: 200, body };
  }
}

/** A local Elastic Load Balancing v2 (query protocol, API version 2015-12-01). */
export function elbv2Server(): AwsQueryServer {
  return new AwsQueryServer({
    version: '2015-12-01',
    xmlns: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',
  });
}
