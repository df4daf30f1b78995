import type { z } from 'zod';
import { redactText } from './redact';

/** `checks.smoke.requests[2].expect.status` from `['checks', 'smoke', 'requests', 2, 'expect', 'status']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(String(key))) out += out ? `.${String(key)}` : String(key);
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || '(root)';
}

export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  // A value resolved from a secret may land in a field of the wrong type: never echo it, not even in part.
  const text = redactText(JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  never: 'nothing here',
};

/**
 * Parse-level messages (a schema's own `error` wins over these). They say what was expected;
 * `formatIssue` adds the path and what was found.
 */
export const issueMessages: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${ARTICLE[issue.expected] ?? issue.expected}`;
    case 'too_big':
      if (issue.origin === 'array') return `expected at most ${issue.maximum} items`;
      if (issue.origin === 'string') return `expected at most ${issue.maximum} characters`;
      return `expected a number ${issue.inclusive ? '≤' : '<'} ${issue.maximum}`;
    case 'too_small':
      if (issue.origin === 'array')
        return `expected at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string')
        return `expected at least ${issue.minimum} character${issue.minimum === 1 ? '' : 's'}`;
      return `expected a number ${issue.inclusive ? '≥' : '>'} ${issue.minimum}`;
    case 'invalid_value':
      return `expected ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'regex' && 'pattern' in issue
        ? `expected a value matching ${String(issue.pattern)}`
        : `expected a valid ${issue.format}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}`;
    default:
      return undefined;
  }
};

/** One line per problem: `path: expected ..., got ...`. */
export function formatIssue(issue: z.core.$ZodIssue): string {
  const path = [...issue.path];
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    const where = formatPath(keys.length === 1 ? [...path, keys[0]!] : path);
    return `${where}: unknown key${keys.length === 1 ? '' : 's'}${keys.length === 1 ? '' : ' ' + keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (
    issue.code === 'invalid_union' &&
    'discriminator' in issue &&
    (issue as { options?: unknown[] }).options
  ) {
    const options = (issue as unknown as { options: unknown[] }).options
      .map((o) => JSON.stringify(o))
      .join(', ');
    const value =
      input && typeof input === 'object'
        ? (input as Record<string, unknown>)[String(issue.discriminator)]
        : undefined;
    return `${formatPath(path)}: expected one of ${options}, got ${describeValue(value)}`;
  }
  if (issue.code === 'invalid_union') {
    return `${formatPath(path)}: ${issue.message}, got ${describeValue(input)}`;
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? issue.message;
    return `${formatPath(path)}: ${inner}, got ${describeValue(input)}`;
  }
  const missing = (issue.code === 'invalid_type' || issue.code === 'invalid_value') && input === undefined;
  if (missing) return `${formatPath(path)}: required, ${issue.message}`;
  const got = issue.code === 'custom' && input === undefined ? '' : `, got ${describeValue(input)}`;
  return `${formatPath(path)}: ${issue.message}${got}`;
}
