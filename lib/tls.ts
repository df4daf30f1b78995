import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The one TLS options schema of greenlight. Every client that speaks TLS (http checks, the
 * schema check's database session, session stores) takes the same three settings: what to trust
 * and the name to verify. Each adds only what is its own: `insecure` for http, `mode` for
 * databases. Verification is always on unless such an addition switches it off.
 */
const trustFields = {
  ca: z
    .string()
    .min(1)
    .optional()
    .describe('PEM text of CA certificates to trust instead of the system CAs.'),
  caFile: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Path of a PEM CA bundle to trust instead of the system CAs, e.g. the RDS `global-bundle.pem` shipped with the function.',
    ),
  serverName: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Name to send (SNI) and verify the certificate against (default: the host, unless it is an IP address).',
    ),
  servername: z.string().min(1).optional().describe('Older spelling of `serverName`.'),
};

export interface TlsTrust {
  ca?: string | undefined;
  caFile?: string | undefined;
  serverName?: string | undefined;
  servername?: string | undefined;
}

/** The TLS options object: the trust fields plus `extra`, unknown keys refused. */
export function tlsOptionsSchema<E extends z.ZodRawShape>(extra: E) {
  return z.strictObject({ ...trustFields, ...extra }).refine((options) => agreeOnName(options as TlsTrust), {
    error: 'serverName and servername name two different hosts: give serverName only',
    path: ['serverName'],
  });
}

function agreeOnName(t: TlsTrust): boolean {
  return !(t.serverName && t.servername && t.serverName !== t.servername);
}

/** The name the certificate must carry: the configured one, else the host unless it is an IP address. */
export function verifiedServerName(tls: TlsTrust, host: string): string | undefined {
  return tls.serverName ?? tls.servername ?? (isIP(host) ? undefined : host);
}

/** `tls.caFile` could not be read: a configuration problem found at run time. */
export class CaFileError extends Error {
  constructor(path: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException)?.code ?? (cause as Error)?.message ?? String(cause);
    super(`cannot read tls.caFile ${path}: ${code}`, { cause });
    this.name = 'CaFileError';
  }
}

export async function readCaFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CaFileError(path, err);
  }
}

/** The CA certificates to trust: `ca` and the contents of `caFile`; undefined means the system CAs. */
export async function trustedCa(
  tls: TlsTrust,
  read: (path: string) => Promise<string> = readCaFile,
): Promise<string | undefined> {
  const pieces = [tls.ca, tls.caFile === undefined ? undefined : await read(tls.caFile)];
  const ca = pieces.filter((p): p is string => p !== undefined).join('\n');
  return ca === '' ? undefined : ca;
}
