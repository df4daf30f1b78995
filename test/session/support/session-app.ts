import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv from 'ajv';
import type { Redis } from 'ioredis';

/** How one version of the sample app keeps its sessions; the test varies one field at a time. */
export interface SessionAppConfig {
  keyPrefix: string;
  cookieName: string;
  /** What it writes: express-session's JSON shape, or base64 of it (a "new serializer"). */
  codec: 'express-session' | 'base64-json';
  acceptsCodecs?: Array<'express-session' | 'base64-json'>;
  /** The first signs, all verify (express-session's `secret: [...]`). */
  signingKeys: Array<{ id: string; secret: string }>;
  /** v1 writes `user.id` as a number; v2 as a string. */
  payload: 'v1' | 'v2';
  /** v0 insists on a numeric id, v1 reads either id type, v2 insists on a string id and a name. */
  reader: 'v0' | 'v1' | 'v2';
  password: string;
  ttlSeconds?: number;
}

const READER_SCHEMAS = {
  v0: {
    type: 'object',
    required: ['cookie', 'user'],
    properties: { user: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } } },
  },
  v1: {
    type: 'object',
    required: ['cookie', 'user'],
    properties: {
      user: { type: 'object', required: ['id'], properties: { id: { type: ['integer', 'string'] } } },
    },
  },
  v2: {
    type: 'object',
    required: ['cookie', 'user'],
    properties: {
      user: {
        type: 'object',
        required: ['id', 'name'],
        properties: { id: { type: 'string' }, name: { type: 'string' } },
      },
    },
  },
};

function payloadFor(version: 'v1' | 'v2', userId: number, name: string): Record<string, unknown> {
  const cookie = {
    originalMaxAge: 3_600_000,
    expires: new Date(Date.now() + 3_600_000).toISOString(),
    httpOnly: true,
    path: '/',
  };
  return { cookie, user: { id: version === 'v1' ? userId : String(userId), name } };
}

function encode(codec: SessionAppConfig['codec'], value: unknown): string {
  const json = JSON.stringify(value);
  return codec === 'base64-json' ? Buffer.from(json).toString('base64') : json;
}

function decode(codec: SessionAppConfig['codec'], raw: string): unknown {
  return JSON.parse(codec === 'base64-json' ? Buffer.from(raw, 'base64').toString('utf8') : raw);
}

function sign(sid: string, secret: string): string {
  return `s:${sid}.${createHmac('sha256', secret).update(sid).digest('base64').replace(/=+$/, '')}`;
}

function unsign(cookie: string, secrets: string[]): string | undefined {
  if (!cookie.startsWith('s:')) return undefined;
  const dot = cookie.lastIndexOf('.');
  const sid = cookie.slice(2, dot);
  for (const secret of secrets) {
    const expected = Buffer.from(sign(sid, secret));
    const actual = Buffer.from(cookie);
    if (expected.length === actual.length && timingSafeEqual(expected, actual)) return sid;
  }
  return undefined;
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/**
 * A tiny web app with express-session's behaviour (signed `s:` cookies, sessions as JSON under
 * a key prefix in Redis): `POST /login`, `GET /me`, and its session contract at
 * `/.well-known/greenlight/session.json`. Blue and green are two of these sharing one Redis.
 */
export class SessionApp {
  private server: Server | undefined;
  private readonly validate;

  constructor(
    readonly config: SessionAppConfig,
    private readonly redis: Redis,
  ) {
    this.validate = new Ajv({ strict: false }).compile(READER_SCHEMAS[config.reader]);
  }

  /** The contract this version publishes (key ids, never secrets). */
  contract(): Record<string, unknown> {
    const c = this.config;
    return {
      store: 'redis',
      keyPrefix: c.keyPrefix,
      cookieName: c.cookieName,
      codec: c.codec,
      acceptsCodecs: c.acceptsCodecs ?? [c.codec],
      signingKeyIds: c.signingKeys.map((k) => k.id),
      ttlSeconds: c.ttlSeconds ?? 3600,
      writerSamples: [payloadFor(c.payload, 42, 'Ada')],
      readerSchema: READER_SCHEMAS[c.reader],
    };
  }

  /** Creates a session as a login would, straight in the store; returns the cookie value. */
  async createSession(userId: number, name: string): Promise<string> {
    const sid = randomBytes(18).toString('base64url');
    const value = encode(this.config.codec, payloadFor(this.config.payload, userId, name));
    await this.redis.set(`${this.config.keyPrefix}${sid}`, value, 'EX', this.config.ttlSeconds ?? 3600);
    return sign(sid, this.config.signingKeys[0]!.secret);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req)
        .then(({ status, body, headers }) => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers });
          res.end(JSON.stringify(body));
        })
        .catch((err: Error) => {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: err.message }));
        });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(
    req: IncomingMessage,
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const c = this.config;
    const path = new URL(req.url ?? '/', 'http://app').pathname;
    if (req.method === 'GET' && path === '/.well-known/greenlight/session.json')
      return { status: 200, body: { session: this.contract() } };
    if (req.method === 'POST' && path === '/login') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const form = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
        username?: string;
        password?: string;
      };
      if (form.password !== c.password || !form.username)
        return { status: 401, body: { error: 'bad credentials' } };
      const cookie = await this.createSession(7, form.username);
      return {
        status: 200,
        body: { ok: true },
        headers: { 'set-cookie': `${c.cookieName}=${encodeURIComponent(cookie)}; Path=/; HttpOnly` },
      };
    }
    if (req.method === 'GET' && path === '/me') {
      const cookie = readCookie(req, c.cookieName);
      if (!cookie) return { status: 401, body: { authenticated: false, reason: 'no session cookie' } };
      const sid = unsign(
        cookie,
        c.signingKeys.map((k) => k.secret),
      );
      if (!sid) return { status: 401, body: { authenticated: false, reason: 'bad signature' } };
      const raw = await this.redis.get(`${c.keyPrefix}${sid}`);
      if (raw === null) return { status: 401, body: { authenticated: false, reason: 'no session' } };
      let session: unknown;
      for (const codec of c.acceptsCodecs ?? [c.codec]) {
        try {
          session = decode(codec, raw);
          break;
        } catch {
          // try the next codec this version accepts
        }
      }
      if (session === undefined || !this.validate(session))
        return { status: 401, body: { authenticated: false, reason: 'unreadable session' } };
      return { status: 200, body: { authenticated: true, user: (session as { user: unknown }).user } };
    }
    return { status: 404, body: { error: 'not found' } };
  }
}

/** Blue's settings; a green is blue with one change. */
export function blueConfig(overrides: Partial<SessionAppConfig> = {}): SessionAppConfig {
  return {
    keyPrefix: 'sess:',
    cookieName: 'connect.sid',
    codec: 'express-session',
    signingKeys: [{ id: 'k1', secret: 'blue-signing-secret-k1' }],
    payload: 'v1',
    reader: 'v1',
    password: 'correct horse',
    ...overrides,
  };
}
