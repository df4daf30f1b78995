import { ConfigError } from '../lib/errors';
import { formatPath } from '../lib/config-issues';
import { isSecretField, registerSecret } from '../lib/redact';

/** Resolves one `${provider:argument}` reference; undefined means "not found". */
export type Resolver = (argument: string) => string | undefined | Promise<string | undefined>;

const REFERENCE = /\$\{([a-z][a-z0-9-]*):([^}]*)\}/g;

/** `${env:NAME}` and `${env:NAME:-default}`. */
export function envResolver(env: NodeJS.ProcessEnv): Resolver {
  return (argument) => {
    const [name, fallback] = splitDefault(argument);
    const value = env[name];
    return value !== undefined && value !== '' ? value : fallback;
  };
}

function splitDefault(argument: string): [string, string | undefined] {
  const at = argument.indexOf(':-');
  return at === -1 ? [argument, undefined] : [argument.slice(0, at), argument.slice(at + 2)];
}

/**
 * Replaces `${provider:argument}` references in every string of a parsed config document.
 * `${name}` without a provider is left alone (the http check uses it for captures). A value that
 * lands in a secret-looking field, or comes from a secret-looking variable, is registered for
 * redaction. An unknown provider or an unresolved reference is a ConfigError naming the path.
 */
export async function interpolate(
  doc: unknown,
  resolvers: Readonly<Record<string, Resolver>>,
  path: PropertyKey[] = [],
): Promise<unknown> {
  if (typeof doc === 'string') return interpolateString(doc, resolvers, path);
  if (Array.isArray(doc)) {
    const out: unknown[] = [];
    for (let i = 0; i < doc.length; i++) out.push(await interpolate(doc[i], resolvers, [...path, i]));
    return out;
  }
  if (doc !== null && typeof doc === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc))
      out[key] = await interpolate(value, resolvers, [...path, key]);
    return out;
  }
  return doc;
}

async function interpolateString(
  text: string,
  resolvers: Readonly<Record<string, Resolver>>,
  path: PropertyKey[],
): Promise<string> {
  const matches = [...text.matchAll(REFERENCE)];
  if (matches.length === 0) return text;
  const field = String(path[path.length - 1] ?? '');
  let out = '';
  let last = 0;
  for (const match of matches) {
    const [whole, provider, argument] = match as unknown as [string, string, string];
    const resolve = resolvers[provider];
    if (!resolve) {
      const known = Object.keys(resolvers)
        .map((p) => `\${${p}:...}`)
        .join(', ');
      throw new ConfigError(`${formatPath(path)}: unknown reference ${whole}; supported: ${known}`);
    }
    let value: string | undefined;
    try {
      value = await resolve(argument);
    } catch (err) {
      throw new ConfigError(`${formatPath(path)}: could not resolve ${whole}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (value === undefined) {
      const what =
        provider === 'env'
          ? `environment variable ${splitDefault(argument)[0]} is not set`
          : `${whole} was not found`;
      throw new ConfigError(`${formatPath(path)}: ${what}`);
    }
    if (provider !== 'env' || isSecretField(field) || isSecretField(splitDefault(argument)[0]))
      registerSecret(value);
    out += text.slice(last, match.index) + value;
    last = (match.index ?? 0) + whole.length;
  }
  return out + text.slice(last);
}
