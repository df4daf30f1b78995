/**
 * Keeps secrets out of logs, results and reports: the one redaction policy of greenlight. Two
 * mechanisms:
 * - values known to be secret (registered when the config resolves `${env:...}` into a secret
 *   field, when a request sends a header with a secret name, when an answer carries one, or a
 *   capture or cookie holds one) are replaced wherever they appear in text;
 * - fields, headers and captures whose name says secret (`isSecretField`) are replaced whatever
 *   their value.
 */
export const REDACTED = '[redacted]';

/**
 * What "secret-looking" means, for header names, config fields, capture names and report keys
 * alike: credentials and cookies, passwords, secrets, tokens, API and private keys, signatures,
 * session ids, CSRF tokens and JWTs.
 */
const SECRET_FIELD =
  /^(authorization|proxy-authorization|cookie|set-cookie|sid)$|pass(word|wd|phrase)?$|pwd$|secret|token$|^token|api[-_]?key|credential|private[-_]?key|signature|session[-_]?id|sessid|csrf|xsrf|jwt/i;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;
const MIN_SECRET_LENGTH = 4;
/**
 * Values that arrive in answers (a cookie, a header with a secret name) are redacted everywhere
 * only from this length: shorter ones (`true`, `none`, `en`) are flags, not credentials, and
 * replacing them in every text would mangle it. Their own header or field is redacted by name.
 */
const MIN_OBSERVED_SECRET_LENGTH = 8;

const knownSecrets = new Set<string>();

/** Remember a value that must never be printed. Very short values are ignored (they would mangle text). */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) knownSecrets.add(value);
}

/** A value seen in an answer under a secret name (a session cookie, an `x-debug-token` header). */
export function registerObservedSecret(value: string | undefined | null): void {
  if (typeof value === 'string' && value.length >= MIN_OBSERVED_SECRET_LENGTH) knownSecrets.add(value);
}

export function isSecretField(name: string): boolean {
  return SECRET_FIELD.test(name);
}

/** Names (of headers, say) whose values are never shown: the secret-looking ones, and any named here. */
export interface SecretNames {
  has(name: string): boolean;
}

const MAX_REMEMBERED_NAMES = 1_000;

/**
 * The secret-looking names plus `extra` (e.g. a check's `secretHeaders`), case-insensitively.
 * Every answer's headers are looked up: each name's verdict is remembered (up to a bound, as a
 * server may send any names at all), so the pattern runs once per name, not once per answer.
 */
export function secretNames(extra: Iterable<string> = []): SecretNames {
  const known = new Map<string, boolean>();
  for (const name of extra) known.set(name.toLowerCase(), true);
  const given = known.size;
  return {
    has(name) {
      let secret = known.get(name);
      if (secret === undefined) {
        secret = known.get(name.toLowerCase()) ?? SECRET_FIELD.test(name);
        if (known.size >= MAX_REMEMBERED_NAMES + given) return secret;
        known.set(name, secret);
      }
      return secret;
    },
  };
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

const JSON_STRING_FIELD = /"((?:[^"\\\n]|\\.)*)"(\s*:\s*)"((?:[^"\\\n]|\\.)*)"/g;

/**
 * `redactText` for text that may be JSON, such as a body excerpt: besides known values, the
 * string value of every secret-looking key is replaced, as `redact` replaces it in an object,
 * so `{"access_token": "..."}` in an answer never shows in evidence.
 */
export function redactBodyText(text: string): string {
  const fields = text.includes('"')
    ? text.replace(JSON_STRING_FIELD, (whole, key: string, colon: string, value: string) =>
        value !== '' && SECRET_FIELD.test(key) ? `"${key}"${colon}"${REDACTED}"` : whole,
      )
    : text;
  return redactText(fields);
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
