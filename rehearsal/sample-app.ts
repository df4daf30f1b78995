import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import type Redis from 'ioredis';

/** A schema change the app applies when it starts (recorded in `schema_migrations`, Rails style). */
export interface Migration {
  id: string;
  phase: 'expand' | 'contract';
  sql: string;
}

/** How a session is stored: `flat` = `{ userId }` (v1), `nested` = `{ user: { id } }`. */
export type SessionShape = 'flat' | 'nested';

/** One version of the sample app: what it migrates, reads and writes, and how it misbehaves. */
export interface AppVersionSpec {
  version: string;
  migrations: Migration[];
  /** Columns of `users` this version selects. */
  reads: string[];
  /** Columns of `users` this version inserts. */
  writes: string[];
  sessionShape: SessionShape;
  /** `GET /api/users/:id` answers 500 (a bug shipped in this version). */
  brokenUsersEndpoint?: boolean;
  /** The app answers 503 on /health for this long after it starts (a slow start). */
  readyAfterMs?: number;
  /** The route the app answers its health check on (default `/health`); others answer 404. */
  healthPath?: string;
  /** The app exits at start with this code, logging `log` (a crash loop: every start fails alike). */
  crashOnStart?: { exitCode: number; log: string };
  /** Once production is all on this version, `GET /api/users/:id` answers this many more times, then 500 (a leak). */
  errorBurstAfterFullTraffic?: { afterRequests: number };
}

/** The app's process ended at start, as an essential container that exits. */
export class AppExitedError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'AppExitedError';
  }
}

/** Shared by both versions: the signing secret never appears in a contract, only its id. */
export interface SessionSigning {
  keyId: string;
  secret: Buffer;
}

export function newSessionSigning(): SessionSigning {
  return { keyId: 'k1', secret: randomBytes(32) };
}

const SESSION_PREFIX = 'sess:';
const COOKIE = 'sid';
const SESSION_TTL_SECONDS = 3_600;
const MAX_BODY_BYTES = 16 * 1024;

/** The base schema blue (v1) ships with. */
export const BASE_MIGRATION: Migration = {
  id: '001',
  phase: 'expand',
  sql: `CREATE TABLE users (
          id serial PRIMARY KEY,
          email text NOT NULL UNIQUE,
          display_name text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        INSERT INTO users (email, display_name) VALUES
          ('ada@example.com', 'Ada'), ('grace@example.com', 'Grace'), ('linus@example.com', 'Linus');`,
};

/** Applies a version's migrations once each, in order, inside a transaction per migration. */
export async function migrate(db: PGlite, migrations: readonly Migration[]): Promise<string[]> {
  await db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY)');
  const applied: string[] = [];
  for (const m of migrations) {
    const done = await db.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.id]);
    if (done.rows.length) continue;
    await db.transaction(async (tx) => {
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.id]);
    });
    applied.push(m.id);
  }
  return applied;
}

/** What the version says it needs from the database (the `schema` check's contract). */
export function schemaContractOf(spec: AppVersionSpec): Record<string, unknown> {
  const known = Object.fromEntries([BASE_MIGRATION, ...spec.migrations].map((m) => [m.id, m.phase]));
  return {
    version: spec.version,
    engine: 'postgres',
    reads: { users: spec.reads },
    writes: { users: spec.writes },
    migrations: { tool: 'rails', required: Object.keys(known), known },
  };
}

/** What the version says about its sessions (the `session` check's contract). Key ids only. */
export function sessionContractOf(spec: AppVersionSpec, signing: SessionSigning): Record<string, unknown> {
  const flat = spec.sessionShape === 'flat';
  return {
    store: 'redis',
    keyPrefix: SESSION_PREFIX,
    cookieName: COOKIE,
    codec: 'json',
    signingKeyIds: [signing.keyId],
    ttlSeconds: SESSION_TTL_SECONDS,
    writerSamples: [sessionPayload(spec.sessionShape, 42, '2024-01-01T00:00:00.000Z')],
    readerSchema: flat
      ? { type: 'object', required: ['userId'], properties: { userId: { type: 'integer' } } }
      : {
          type: 'object',
          required: ['user'],
          properties: { user: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } } },
        },
  };
}

function sessionPayload(shape: SessionShape, userId: number, createdAt: string): Record<string, unknown> {
  return shape === 'flat' ? { userId, createdAt } : { user: { id: userId }, createdAt };
}

function userIdOf(shape: SessionShape, payload: unknown): number | undefined {
  if (payload === null || typeof payload !== 'object') return undefined;
  const value =
    shape === 'flat'
      ? (payload as { userId?: unknown }).userId
      : (payload as { user?: { id?: unknown } }).user?.id;
  return Number.isInteger(value) ? (value as number) : undefined;
}

function sign(signing: SessionSigning, id: string): string {
  return createHmac('sha256', signing.secret).update(id).digest('base64url');
}

function verify(signing: SessionSigning, cookie: string): string | undefined {
  const dot = cookie.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const id = cookie.slice(0, dot);
  const given = Buffer.from(cookie.slice(dot + 1));
  const wanted = Buffer.from(sign(signing, id));
  return given.length === wanted.length && timingSafeEqual(given, wanted) ? id : undefined;
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw Object.assign(new Error('body is not JSON'), { status: 400 });
  }
}

/** A running version of the sample app. */
export interface SampleApp {
  spec: AppVersionSpec;
  url: URL;
  /** `GET /api/users/:id` answers `afterRequests` more times, then 500 (see errorBurstAfterFullTraffic). */
  armErrorBurst(afterRequests: number): void;
  stop(): Promise<void>;
}

/**
 * Starts one version of the sample app on loopback: it runs its migrations, then serves
 * `/health`, `/api/users/:id`, `POST /login`, `GET /me` and its contracts under
 * `/.well-known/greenlight/`. Both versions share the database and the session store, as blue
 * and green do during a real shift.
 */
export async function startSampleApp(
  spec: AppVersionSpec,
  deps: { db: PGlite; redis: Redis; signing: SessionSigning },
): Promise<SampleApp> {
  const { db, redis, signing } = deps;
  if (spec.crashOnStart) throw new AppExitedError(spec.crashOnStart.exitCode, spec.crashOnStart.log);
  await migrate(db, [BASE_MIGRATION, ...spec.migrations]);
  const startedAt = Date.now();
  const ready = () => Date.now() - startedAt >= (spec.readyAfterMs ?? 0);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-app-version': spec.version, ...headers });
    res.end(JSON.stringify(body));
  };

  const routes = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://app.internal');
    const route = `${req.method} ${url.pathname}`;
    if (route === `GET ${spec.healthPath ?? '/health'}`) {
      return ready()
        ? send(res, 200, { status: 'ok', version: spec.version })
        : send(res, 503, { status: 'starting', version: spec.version });
    }
    if (!ready()) return send(res, 503, { error: 'starting' });
    if (route === 'GET /.well-known/greenlight/contract.json') return send(res, 200, schemaContractOf(spec));
    if (route === 'GET /.well-known/greenlight/session.json')
      return send(res, 200, sessionContractOf(spec, signing));

    const user = /^\/api\/users\/(\d+)$/.exec(url.pathname);
    if (req.method === 'GET' && user) {
      if (spec.brokenUsersEndpoint)
        return send(res, 500, {
          error: "TypeError: Cannot read properties of undefined (reading 'displayName')",
        });
      if (burstIn !== undefined && burstIn-- <= 0)
        return send(res, 500, { error: 'connection pool exhausted' });
      const columns = spec.reads.map((c) => `"${c}"`).join(', ');
      const rows = await db.query(`SELECT ${columns} FROM users WHERE id = $1`, [Number(user[1])]);
      return rows.rows[0] ? send(res, 200, rows.rows[0]) : send(res, 404, { error: 'no such user' });
    }

    if (route === 'POST /login') {
      const body = (await readJson(req)) as { email?: unknown };
      if (typeof body.email !== 'string') return send(res, 400, { error: 'email required' });
      const found = await db.query<{ id: number }>('SELECT id FROM users WHERE email = $1', [body.email]);
      const row = found.rows[0];
      if (!row) return send(res, 401, { authenticated: false });
      const id = randomUUID();
      const payload = sessionPayload(spec.sessionShape, row.id, new Date().toISOString());
      await redis.set(`${SESSION_PREFIX}${id}`, JSON.stringify(payload), 'EX', SESSION_TTL_SECONDS);
      const cookie = `${COOKIE}=${encodeURIComponent(`${id}.${sign(signing, id)}`)}; Path=/; HttpOnly; SameSite=Lax`;
      return send(res, 200, { authenticated: true }, { 'set-cookie': cookie });
    }

    if (route === 'GET /me') {
      const raw = cookieValue(req, COOKIE);
      const id = raw ? verify(signing, raw) : undefined;
      const stored = id ? await redis.get(`${SESSION_PREFIX}${id}`) : null;
      let userId: number | undefined;
      try {
        userId = stored ? userIdOf(spec.sessionShape, JSON.parse(stored)) : undefined;
      } catch {
        userId = undefined;
      }
      return userId === undefined
        ? send(res, 401, { authenticated: false })
        : send(res, 200, { authenticated: true, userId });
    }
    return send(res, 404, { error: `no route ${route}` });
  };

  let burstIn: number | undefined;
  const server: Server = createServer((req, res) => {
    routes(req, res).catch((err: Error & { status?: number }) => {
      if (!res.headersSent) send(res, err.status ?? 500, { error: err.message });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    spec,
    url: new URL(`http://127.0.0.1:${port}`),
    armErrorBurst: (afterRequests) => {
      burstIn = afterRequests;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
