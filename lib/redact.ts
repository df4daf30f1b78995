/**
 * Keeps secrets out of logs, results and reports. Two mechanisms:
 * - values known to be secret (registered when the config resolves `${env:...}` into a secret
 *   field, or a check marks a header secret) are replaced wherever they appear in text;
 * - fields whose name says secret (Authorization, Cookie, password, token, ...) are replaced
 *   whatever their value.
 */
export const REDACTED = '[redacted]';

const SECRET_FIELD =
  /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)$|pass(word|wd|phrase)?$|secret|token$|^token|api[-_]?key|credential|private[-_]?key/i;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;
const MIN_SECRET_LENGTH = 4;

const knownSecrets = new Set<string>();

/** Remember a value that must never be printed. Very short values are ignored (they would mangle text). */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) knownSecrets.add(value);
}

export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/** Replaces known secret values and URL passwords in a string. */
export function redactText(text: string): string {
  // A URL password needs an `@`: most texts have none, and the search is cheaper than the regex.
  let out = text.includes('@') ? text.replace(URL_USERINFO, `$1${REDACTED}@`) : text;
  for (const secret of knownSecrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A deep copy with secret fields and known secret values replaced. Handles cycles and Errors. */
export function redact<T>(value: T): T {
  return walk(value, new WeakMap()) as T;
}

function walk(value: unknown, seen: WeakMap<object, unknown>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return seen.get(value);
  if (value instanceof URL) return redactText(value.href);
  if (value instanceof Date) return value;
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: redactText(value.message) };
    seen.set(value, out);
    if (value.cause !== undefined) out.cause = walk(value.cause, seen);
    return out;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(walk(item, seen));
    return out;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [key, inner] of Object.entries(value)) {
    out[key] =
      isSecretField(key) && inner !== undefined && inner !== null && inner !== ''
        ? REDACTED
        : walk(inner, seen);
  }
  return out;
}

/** For tests: forget registered secrets. */
export function clearRegisteredSecrets(): void {
  knownSecrets.clear();
}
