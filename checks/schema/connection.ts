import { z } from 'zod';
import { withConnectionHint } from '../../lib/connection-hint';
import { errorMessage } from '../../lib/errors';
import { redactText, registerSecret } from '../../lib/redact';
import { tlsOptionsSchema, trustedCa } from '../../lib/tls';
import { ENGINE_NAMES, type Engine } from './model';

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5_000;
export const DEFAULT_LOCK_TIMEOUT_MS = 1_000;
const DEFAULT_PORTS: Record<Engine, number> = { postgres: 5432, mysql: 3306 };
const SCHEMES: Record<string, Engine> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
};

export type TlsMode = 'disable' | 'verify-ca' | 'verify-full';

export const tlsOptions = tlsOptionsSchema({
  mode: z
    .enum(['disable', 'verify-ca', 'verify-full'], {
      error: 'expected "verify-full" (default), "verify-ca" or "disable"; unverified TLS is not offered',
    })
    .default('verify-full')
    .describe(
      '`verify-full` checks the CA and the host name; `verify-ca` the CA only; `disable` sends in clear text.',
    ),
}).describe('TLS to the database; verification is on unless `mode: disable`.');

/** The connection options of the schema check (and of `greenlight schema snapshot`). */
export const connectionOptions = {
  url: z
    .string()
    .optional()
    .describe(
      '`postgres://user@host:5432/db` or `mysql://user@host:3306/db`; `?sslmode=disable|verify-ca|verify-full`.',
    ),
  engine: z
    .enum(['postgres', 'mysql'])
    .optional()
    .describe('Needed when `url` is not given; MariaDB is `mysql`.'),
  host: z.string().min(1).optional(),
  port: z.int().min(1).max(65_535, { error: 'expected a port 1–65535' }).optional(),
  user: z.string().min(1).optional(),
  password: z.string().optional().describe('Use `${env:DB_PASSWORD}`; it is redacted everywhere.'),
  database: z.string().min(1).optional(),
  tls: tlsOptions.prefault({}),
  connectTimeoutMs: z
    .int()
    .min(100)
    .max(120_000)
    .default(DEFAULT_CONNECT_TIMEOUT_MS)
    .describe('Connect (TCP, TLS, auth) timeout.'),
  statementTimeoutMs: z
    .int()
    .min(100)
    .max(120_000)
    .default(DEFAULT_STATEMENT_TIMEOUT_MS)
    .describe(
      'Per-statement timeout on the server (PG statement_timeout, MySQL MAX_EXECUTION_TIME / MariaDB max_statement_time) and client.',
    ),
  lockTimeoutMs: z
    .int()
    .min(100)
    .max(60_000)
    .default(DEFAULT_LOCK_TIMEOUT_MS)
    .describe(
      'How long a catalog read may wait for a lock (PG lock_timeout, MySQL lock_wait_timeout rounded up to seconds).',
    ),
};

export const connectionSchema = z.strictObject(connectionOptions);
export type ConnectionOptions = z.output<typeof connectionSchema>;

/** Everything needed to open a session, resolved from a URL and/or parts. */
export interface ConnectionSettings {
  engine: Engine;
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  tls: { mode: TlsMode; caFile?: string; ca?: string; serverName?: string };
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

const SSLMODES: Record<string, TlsMode | 'unverified'> = {
  disable: 'disable',
  disabled: 'disable',
  'verify-ca': 'verify-ca',
  verify_ca: 'verify-ca',
  'verify-full': 'verify-full',
  verify_identity: 'verify-full',
  allow: 'unverified',
  prefer: 'unverified',
  preferred: 'unverified',
  require: 'unverified',
  required: 'unverified',
};

/**
 * Resolves connection options into settings. Problems come back as `[field, message]` so the
 * caller can name the config path; the password (from the URL or the option) is registered for
 * redaction.
 */
/**
 * The connection a CLI command's `--db URL` (and `--ca-file`) names, the password from
 * `GREENLIGHT_DB_PASSWORD`; or what is wrong with it.
 */
export function connectionFromArgs(
  db: string | undefined,
  caFile: string | undefined,
  env: NodeJS.ProcessEnv,
): ConnectionSettings | { field: string; message: string } {
  const options = connectionSchema.safeParse({
    url: db,
    password: env.GREENLIGHT_DB_PASSWORD || undefined,
    tls: caFile ? { caFile } : {},
  });
  return options.success
    ? resolveConnection(options.data)
    : { field: 'db', message: options.error.issues[0]?.message ?? 'invalid' };
}

export function resolveConnection(
  options: ConnectionOptions,
): ConnectionSettings | { field: string; message: string } {
  let engine = options.engine;
  let host = options.host;
  let port = options.port;
  let user = options.user;
  let password = options.password;
  let database = options.database;
  let mode: TlsMode = options.tls.mode;
  if (options.url !== undefined) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      return {
        field: 'url',
        message: `expected a database URL such as postgres://user@host:5432/db, got ${JSON.stringify(redactText(options.url))}`,
      };
    }
    const fromScheme = SCHEMES[url.protocol];
    if (!fromScheme)
      return {
        field: 'url',
        message: `expected a postgres://, postgresql://, mysql:// or mariadb:// URL, got ${url.protocol}//`,
      };
    if (engine && engine !== fromScheme)
      return { field: 'engine', message: `"${engine}" contradicts the ${url.protocol}// URL` };
    engine = fromScheme;
    host ??= url.hostname.replace(/^\[|\]$/g, '') || undefined;
    port ??= url.port ? Number(url.port) : undefined;
    user ??= url.username ? decodeURIComponent(url.username) : undefined;
    if (url.password) password ??= decodeURIComponent(url.password);
    const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
    database ??= path || undefined;
    const sslmode = url.searchParams.get('sslmode') ?? url.searchParams.get('ssl-mode');
    if (sslmode !== null) {
      const mapped = SSLMODES[sslmode.toLowerCase()];
      if (mapped === undefined)
        return {
          field: 'url',
          message: `unknown sslmode "${sslmode}"; expected disable, verify-ca or verify-full`,
        };
      if (mapped === 'unverified')
        return {
          field: 'url',
          message: `sslmode=${sslmode} does not verify the server; use verify-full (or verify-ca, with tls.caFile)`,
        };
      mode = mapped;
    }
    for (const key of url.searchParams.keys()) {
      if (key !== 'sslmode' && key !== 'ssl-mode')
        return {
          field: 'url',
          message: `unsupported URL parameter "${key}"; use the check's options instead`,
        };
    }
  }
  if (!engine)
    return { field: 'engine', message: 'required when no url is given: expected "postgres" or "mysql"' };
  if (!host) return { field: options.url ? 'url' : 'host', message: 'expected a database host' };
  if (!user) return { field: options.url ? 'url' : 'user', message: 'expected a database user' };
  if (!database) return { field: options.url ? 'url' : 'database', message: 'expected a database name' };
  registerSecret(password);
  const tls: ConnectionSettings['tls'] = { mode };
  if (options.tls.caFile) tls.caFile = options.tls.caFile;
  if (options.tls.ca) tls.ca = options.tls.ca;
  const serverName = options.tls.serverName ?? options.tls.servername;
  if (serverName) tls.serverName = serverName;
  const settings: ConnectionSettings = {
    engine,
    host,
    port: port ?? DEFAULT_PORTS[engine],
    user,
    database,
    tls,
    connectTimeoutMs: options.connectTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs,
    lockTimeoutMs: options.lockTimeoutMs,
  };
  if (password !== undefined && password !== '') settings.password = password;
  return settings;
}

/** `PostgreSQL app@db.internal:5432/app`: what a message names; never the password. */
export function describeConnection(
  settings: Pick<ConnectionSettings, 'engine' | 'host' | 'port' | 'user' | 'database'>,
): string {
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${ENGINE_NAMES[settings.engine]} ${settings.user}@${host}:${settings.port}/${settings.database}`;
}

/** TLS options for the drivers (both take Node's `tls.connect` options). */
export async function tlsConnectOptions(
  settings: ConnectionSettings,
): Promise<Record<string, unknown> | undefined> {
  const { tls } = settings;
  if (tls.mode === 'disable') return undefined;
  const options: Record<string, unknown> = {
    rejectUnauthorized: true,
    servername: tls.serverName ?? settings.host,
  };
  let ca: string | undefined;
  try {
    ca = await trustedCa(tls);
  } catch (err) {
    throw new SessionError(errorMessage(err), { cause: err });
  }
  if (ca) options.ca = ca;
  // verify-ca trusts the chain but not the name (a tunnel, an IP address).
  if (tls.mode === 'verify-ca') options.checkServerIdentity = () => undefined;
  return options;
}

/** A database session could not be opened or used; the message names host:port, never the password. */
export class SessionError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(redactText(message), options);
    this.name = 'SessionError';
  }
}

/**
 * The error for a session that could not be opened: what was tried, why it failed, how long it
 * took and, when the cause is a known misconfiguration (no TLS on the server, wrong port or
 * credentials, DNS, a certificate not trusted), what to change. The driver's error stays as `cause`.
 */
export function connectError(
  settings: ConnectionSettings,
  err: unknown,
  how: { stopped: boolean; timedOut: boolean; ms: number },
): SessionError {
  const why = how.stopped
    ? 'stopped'
    : how.timedOut
      ? `timed out after ${settings.connectTimeoutMs} ms`
      : driverMessage(err);
  const message = `cannot connect to ${ENGINE_NAMES[settings.engine]} at ${settings.host}:${settings.port} as ${settings.user}: ${why} (${how.ms} ms)`;
  if (how.stopped) return new SessionError(message, { cause: err });
  const target = {
    kind: 'database' as const,
    engine: settings.engine,
    host: settings.host,
    port: settings.port,
    user: settings.user,
  };
  return new SessionError(withConnectionHint(message, how.timedOut ? { code: 'ETIMEDOUT' } : err, target), {
    cause: err,
  });
}

/** A read-only, bounded session: every round trip counted, every I/O under the caller's signal. */
export interface DbSession {
  engine: Engine;
  settings: ConnectionSettings;
  /** e.g. `10.11.19-MariaDB-0+deb12u1`. */
  serverVersion: string;
  /** MariaDB rather than MySQL. */
  mariadb: boolean;
  /** The connected database (PostgreSQL) or default schema (MySQL). */
  database: string;
  currentUser: string;
  /** MySQL only: `@@sql_mode` and `@@lower_case_table_names`. */
  sqlMode?: string;
  lowerCaseTableNames?: number;
  /** Whether the server confirmed the session is read-only. */
  readOnly: boolean;
  /** Round trips so far (setup included). */
  roundTrips: number;
  query<T extends Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** The driver error's most useful words: its code and message, without the password. */
export function driverMessage(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  const message = errorMessage(err) || String(code ?? 'unknown error');
  return redactText(typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message);
}
