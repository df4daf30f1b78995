import { errorMessage } from '../../lib/errors';
import { errors as undiciErrors } from './undici-parts';
import { CaFileError } from '../../lib/tls';

export type TransportErrorKind =
  'timeout' | 'connect' | 'reset' | 'tls' | 'redirects' | 'aborted' | 'dns' | 'other';

/** A request that produced no usable response. */
export interface TransportError {
  kind: TransportErrorKind;
  message: string;
  code?: string;
  /** Worth another attempt: a refused or reset connection, a timeout. */
  transient: boolean;
}

/** Why a request was stopped by its own timeout. */
export class Timeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'Timeout';
  }
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED', 'UND_ERR_CLOSED']);

/** A failed exchange as a TransportError: its kind, whether a retry may help, and what was under way. */
export function describeTransportError(
  err: unknown,
  stopped: unknown,
  phase: string,
  received: number,
  maxBodyBytes: number,
): TransportError {
  if (err instanceof CaFileError) return { kind: 'other', transient: false, message: err.message };
  const reason = stopped;
  const progress =
    phase !== 'reading the body'
      ? phase
      : received > maxBodyBytes
        ? `reading the body, ${received} bytes received, more than maxBodyBytes (${maxBodyBytes}), and it had not ended`
        : `reading the body, ${received} bytes received`;
  if (reason instanceof Timeout) {
    return { kind: 'timeout', transient: true, message: `timed out after ${reason.ms} ms (${progress})` };
  }
  if (stopped !== undefined) {
    const why = errorMessage(reason ?? 'aborted', { cause: false });
    return { kind: 'aborted', transient: false, message: `stopped while ${progress}: ${why}` };
  }
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const inner = e?.cause && typeof e.cause === 'object' ? e.cause : undefined;
  const code = e?.code ?? inner?.code;
  const message = (e?.message || inner?.message || String(err)).split('\n')[0]!;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return {
      kind: 'timeout',
      transient: true,
      message: `timed out (${progress}): ${message}`,
      ...(code ? { code } : {}),
    };
  }
  if (code && CONNECT_CODES.has(code)) return { kind: 'connect', transient: true, code, message };
  if (code && RESET_CODES.has(code))
    return { kind: 'reset', transient: true, code, message: `${message} (${progress})` };
  if (code === 'EAI_AGAIN') return { kind: 'dns', transient: true, code, message };
  if (code === 'ENOTFOUND') return { kind: 'dns', transient: false, code, message };
  if (
    code &&
    (/^ERR_TLS|^ERR_SSL|CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME/.test(code) ||
      /certificate|ssl|tls/i.test(message))
  ) {
    return { kind: 'tls', transient: false, code, message: `TLS: ${message}` };
  }
  return { kind: 'other', transient: false, message, ...(code ? { code } : {}) };
}
