import { search } from '@aws-lambda-powertools/jmespath';
import type { ValidateFunction } from 'ajv';
import { REDACTED, redact, redactBodyText, type SecretNames } from '../../lib/redact';
import { CONTEXT_BEFORE } from './body-scan';
import type { Assertion } from '../types';
import type { HttpResponse } from './client';
import type { Expect, HeaderExpectation, JsonExpectation } from './step';

const EXCERPT_CHARS = 120;
/** Characters a body's bytes cannot be searched for: U+FFFD stands for invalid bytes once decoded. */
export const NEEDS_TEXT = /[\uD800-\uDFFF\uFFFD]/;

/** A response body parsed once, on demand, for every JSON assertion and capture. */
export class ParsedBody {
  private parsed?: { value: unknown } | { error: string };
  private textValue?: string;

  constructor(readonly response: HttpResponse) {}

  get text(): string {
    this.textValue ??= this.response.body.toString('utf8');
    return this.textValue;
  }

  /**
   * Whether the body holds `piece`, as `text.includes(piece)` says, without decoding a body that
   * was not decoded yet: its UTF-8 bytes are searched instead, which finds the same (a decoded
   * character never spans an invalid byte). A piece with U+FFFD or a lone surrogate, which only
   * the decoded text can match, is looked for in the text.
   */
  includes(piece: string): boolean {
    const scanned = this.response.scanned;
    if (scanned?.has(piece)) return scanned.get(piece) !== null;
    if (this.textValue !== undefined || NEEDS_TEXT.test(piece)) return this.text.includes(piece);
    return this.response.body.includes(piece);
  }

  /** The text from a little before the first `piece` on, for evidence; '' when it is absent. */
  around(piece: string): string {
    const scanned = this.response.scanned;
    if (scanned?.has(piece)) return scanned.get(piece) ?? '';
    const at = this.text.indexOf(piece);
    return at < 0 ? '' : this.text.slice(Math.max(0, at - CONTEXT_BEFORE));
  }

  /** The JSON value, or why the body is not JSON (with a short excerpt). */
  json(): { value: unknown } | { error: string } {
    if (!this.parsed) {
      const text = this.text;
      if (!/\S/.test(text)) {
        this.parsed = {
          error: `body is empty${this.response.status === 204 ? ' (204 No Content)' : ''}, expected JSON`,
        };
      } else {
        try {
          this.parsed = { value: JSON.parse(text) };
        } catch (err) {
          const truncated = this.response.truncated
            ? ` (body truncated at ${this.response.body.length} bytes)`
            : '';
          this.parsed = {
            error: `body is not JSON: ${(err as Error).message}${truncated}; body starts ${excerpt(text)}`,
          };
        }
      }
    }
    return this.parsed;
  }
}

/**
 * Shortens a text for evidence. Secrets, known values and the values of secret-looking JSON
 * keys, are redacted before cutting: a cut through a secret would leave a prefix that no longer
 * matches it.
 */
export function clip(text: string, max = EXCERPT_CHARS): string {
  const safe = redactBodyText(text);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

/** A short, quoted, one-line excerpt of a text. */
export function excerpt(text: string, max = EXCERPT_CHARS): string {
  return JSON.stringify(clip(text.replace(/\s+/g, ' '), max));
}

/** A value for an assertion: small values as they are, big ones as a JSON excerpt. */
export function evidence(value: unknown, max = EXCERPT_CHARS): unknown {
  if (value === undefined) return null;
  if (typeof value === 'string') return clip(value, max);
  if (value === null || typeof value !== 'object') return value;
  const text = JSON.stringify(value);
  return text.length > max ? clip(text, max) : redact(value);
}

export interface ExpectContext {
  /** Headers whose values are never shown. */
  secretHeaders: SecretNames;
  /** Compiles (or returns the cached) JSON Schema validator. */
  schema(schema: Record<string, unknown>): ValidateFunction;
}

/** Evaluates every expectation on a response; each becomes one assertion with expected vs actual. */
export function evaluateExpect(
  expect: Expect | undefined,
  body: ParsedBody,
  ctx: ExpectContext,
): Assertion[] {
  const response = body.response;
  const out: Assertion[] = [];
  const status = expect?.status ?? '2xx';
  out.push({
    what: 'status',
    expected: status,
    actual: response.status,
    ok: statusMatches(status, response.status),
  });

  if (expect?.headers) {
    for (const [name, want] of Object.entries(expect.headers)) {
      out.push(headerAssertion(name.toLowerCase(), want, response.headers[name.toLowerCase()], ctx));
    }
  }

  if (expect?.body) {
    const { contains, notContains, matches, equals } = expect.body;
    // contains and notContains decode the body only to show why they failed.
    for (const piece of list(contains)) {
      const ok = body.includes(piece);
      out.push({
        what: 'body',
        expected: `contains ${JSON.stringify(piece)}`,
        actual: ok ? `contains ${JSON.stringify(piece)}` : excerpt(body.text),
        ok,
      });
    }
    for (const piece of list(notContains)) {
      const ok = !body.includes(piece);
      out.push({
        what: 'body',
        expected: `does not contain ${JSON.stringify(piece)}`,
        actual: ok ? 'absent' : excerpt(body.around(piece)),
        ok,
      });
    }
    if (matches !== undefined) {
      const m = new RegExp(matches).exec(body.text);
      out.push({
        what: 'body',
        expected: `matches /${matches}/`,
        actual: m ? excerpt(m[0]) : excerpt(body.text),
        ok: m !== null,
      });
    }
    if (equals !== undefined) {
      const text = body.text;
      out.push({ what: 'body', expected: excerpt(equals), actual: excerpt(text), ok: text === equals });
    }
  }

  if (expect?.json?.length || expect?.schema) {
    const parsed = body.json();
    if ('error' in parsed) {
      out.push({ what: 'body', expected: 'JSON', actual: parsed.error, ok: false });
    } else {
      if (expect.json) for (const assertion of expect.json) jsonAssertions(assertion, parsed.value, out);
      if (expect.schema) {
        const validate = ctx.schema(expect.schema);
        const ok = validate(parsed.value) === true;
        const errors = (validate.errors ?? [])
          .slice(0, 3)
          .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
        const more = (validate.errors?.length ?? 0) > 3 ? ` (+${validate.errors!.length - 3} more)` : '';
        out.push({
          what: 'json schema',
          expected: 'valid',
          actual: ok ? 'valid' : errors.join('; ') + more,
          ok,
        });
      }
    }
  }

  if (expect?.maxDurationMs !== undefined) {
    out.push({
      what: 'duration',
      expected: `≤ ${expect.maxDurationMs} ms`,
      actual: `${response.durationMs} ms`,
      ok: response.durationMs <= expect.maxDurationMs,
    });
  }

  if (expect?.minCertificateDaysLeft !== undefined) {
    const cert = response.certificate;
    out.push({
      what: 'certificate days left',
      expected: `≥ ${expect.minCertificateDaysLeft}`,
      actual: cert ? cert.daysLeft : response.url.protocol === 'https:' ? 'no certificate seen' : 'not HTTPS',
      ok: cert !== undefined && cert.daysLeft >= expect.minCertificateDaysLeft,
    });
  }
  return out;
}

/** A value that may be given once or as a list, as a list. */
export function list(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** `200`, `"2xx"` or a list of either. */
export function statusMatches(expected: number | string | Array<number | string>, actual: number): boolean {
  if (Array.isArray(expected)) return expected.some((e) => statusMatches(e, actual));
  if (typeof expected === 'number') return expected === actual;
  return Math.floor(actual / 100) === Number(expected[0]);
}

function headerAssertion(
  name: string,
  want: HeaderExpectation,
  value: string | string[] | undefined,
  ctx: ExpectContext,
): Assertion {
  const what = `header ${name}`;
  const present = value !== undefined;
  const actualText = Array.isArray(value) ? value.join(', ') : value;
  const secret = ctx.secretHeaders.has(name);
  const shown = (v: string | undefined) => (v === undefined ? 'absent' : secret ? REDACTED : v);
  if (typeof want === 'string')
    return { what, expected: secret ? REDACTED : want, actual: shown(actualText), ok: actualText === want };
  if (want.exists)
    return {
      what,
      expected: 'present',
      actual: present ? (secret ? 'present' : actualText) : 'absent',
      ok: present,
    };
  if (want.absent) return { what, expected: 'absent', actual: shown(actualText), ok: !present };
  if (want.equals !== undefined)
    return {
      what,
      expected: secret ? REDACTED : want.equals,
      actual: shown(actualText),
      ok: actualText === want.equals,
    };
  if (want.contains !== undefined) {
    return {
      what,
      expected: `contains ${JSON.stringify(secret ? REDACTED : want.contains)}`,
      actual: shown(actualText),
      ok: actualText?.includes(want.contains) ?? false,
    };
  }
  const re = new RegExp(want.matches!);
  return {
    what,
    expected: `matches /${want.matches}/`,
    actual: shown(actualText),
    ok: actualText !== undefined && re.test(actualText),
  };
}

const PLAIN_PATH = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$/;
const PLAIN_SEGMENT = /([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g;
const MAX_CACHED_PATHS = 1_000;

/** A plain path split once into field names and array indexes; null for anything else. */
const plainPaths = new Map<string, Array<string | number> | null>();

function plainSegments(expression: string): Array<string | number> | null {
  let segments = plainPaths.get(expression);
  if (segments === undefined) {
    segments = PLAIN_PATH.test(expression)
      ? [...expression.matchAll(PLAIN_SEGMENT)].map((m) => m[1] ?? Number(m[2]))
      : null;
    if (plainPaths.size >= MAX_CACHED_PATHS) plainPaths.clear();
    plainPaths.set(expression, segments);
  }
  return segments;
}

/**
 * Plain field and index paths (`data.items[0].id`), the usual case, are walked directly with
 * JMESPath's semantics (a missing step gives null): the JMESPath interpreter is built afresh
 * for every search, which dominates the cost of a small response.
 */
function plainPath(segments: ReadonlyArray<string | number>, value: unknown): unknown {
  let current = value;
  for (const segment of segments) {
    if (typeof segment === 'string') {
      current =
        current !== null &&
        typeof current === 'object' &&
        !Array.isArray(current) &&
        Object.hasOwn(current, segment)
          ? (current as Record<string, unknown>)[segment]
          : null;
    } else {
      current = Array.isArray(current) ? current[segment] : null;
    }
    if (current === undefined) current = null;
  }
  return current;
}

/** Evaluates a JMESPath expression; a type error inside it (a function on the wrong type) is reported, not thrown. */
export function jmesPath(expression: string, value: unknown): { value: unknown } | { error: string } {
  const segments = plainSegments(expression);
  if (segments) return { value: plainPath(segments, value) };
  try {
    return { value: search(expression, value as never) };
  } catch (err) {
    return { error: `JMESPath ${expression}: ${(err as Error).message}` };
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** One predicate of a JSON expectation, prepared once: its expected text and its test. */
interface JsonPredicate {
  expected: string;
  /** What to show as actual: the evidence, or a word of its own. */
  actual(value: unknown, present: boolean, evidenceOf: () => unknown): unknown;
  test(value: unknown, present: boolean): boolean;
}

const preparedJson = new WeakMap<JsonExpectation, { what: string; predicates: JsonPredicate[] }>();

/** Builds a JSON expectation's predicates once (in the documented order), not once per response. */
function prepareJson(assertion: JsonExpectation): { what: string; predicates: JsonPredicate[] } {
  let prepared = preparedJson.get(assertion);
  if (prepared) return prepared;
  const a = assertion as Record<string, unknown>;
  const shown = (_value: unknown, _present: boolean, evidenceOf: () => unknown) => evidenceOf();
  const predicates: JsonPredicate[] = [];
  if (a.exists !== undefined) {
    predicates.push({
      expected: a.exists ? 'exists' : 'absent',
      actual: (_value, present, evidenceOf) => (present ? evidenceOf() : 'absent'),
      test: (_value, present) => a.exists === present,
    });
  }
  if (a['=='] !== undefined) {
    const wanted = a['=='];
    predicates.push({
      expected: `== ${JSON.stringify(wanted)}`,
      actual: shown,
      test: (value) => deepEqual(value, wanted),
    });
  }
  if (a['!='] !== undefined) {
    const unwanted = a['!='];
    predicates.push({
      expected: `!= ${JSON.stringify(unwanted)}`,
      actual: shown,
      test: (value) => !deepEqual(value, unwanted),
    });
  }
  for (const op of ORDER_OPERATORS) {
    if (a[op] === undefined) continue;
    const limit = a[op] as number;
    predicates.push({
      expected: `${op} ${limit}`,
      actual: shown,
      test: (value) => typeof value === 'number' && compare(op, value, limit),
    });
  }
  if (a.contains !== undefined) {
    const wanted = a.contains;
    predicates.push({
      expected: `contains ${JSON.stringify(wanted)}`,
      actual: shown,
      test: (value) =>
        typeof value === 'string'
          ? typeof wanted === 'string' && value.includes(wanted)
          : Array.isArray(value)
            ? value.some((item) => deepEqual(item, wanted))
            : false,
    });
  }
  if (a.type !== undefined) {
    const type = a.type;
    predicates.push({
      expected: `type ${String(type)}`,
      actual: (value) => (value === undefined ? 'absent' : typeOf(value)),
      test: (value) => {
        const t = typeOf(value);
        return t === type || (type === 'number' && t === 'integer');
      },
    });
  }
  if (a.matches !== undefined) {
    const re = new RegExp(a.matches as string);
    predicates.push({
      expected: `matches /${String(a.matches)}/`,
      actual: shown,
      test: (value) => typeof value === 'string' && re.test(value),
    });
  }
  prepared = { what: `json ${assertion.path}`, predicates };
  preparedJson.set(assertion, prepared);
  return prepared;
}

function jsonAssertions(assertion: JsonExpectation, document: unknown, out: Assertion[]): void {
  const { what, predicates } = prepareJson(assertion);
  const found = jmesPath(assertion.path, document);
  if ('error' in found) {
    out.push({ what, expected: 'a value', actual: found.error, ok: false });
    return;
  }
  const value = found.value;
  const present = value !== null && value !== undefined;
  let shown: unknown;
  let evidenced = false;
  const evidenceOf = () => {
    if (!evidenced) {
      shown = evidence(value);
      evidenced = true;
    }
    return shown;
  };
  for (const predicate of predicates) {
    out.push({
      what,
      expected: predicate.expected,
      actual: predicate.actual(value, present, evidenceOf),
      ok: predicate.test(value, present),
    });
  }
}

const ORDER_OPERATORS = ['<', '<=', '>', '>='] as const;

function compare(op: '<' | '<=' | '>' | '>=', left: number, right: number): boolean {
  switch (op) {
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
  }
}

/** Structural equality of JSON values (object key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((item, i) => deepEqual(item, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every(
      (k) =>
        Object.prototype.hasOwnProperty.call(b, k) &&
        deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
    )
  );
}

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Compiles a JSON Schema with ajv (draft 2020-12 when `$schema` says so, else draft-07) and the
 * standard formats. Throws on an invalid schema: callers do this when the config loads.
 */
export function compileJsonSchema(schema: Record<string, unknown>): ValidateFunction {
  const cached = compiled.get(schema);
  if (cached) return cached;
  // Loaded on first use, synchronously because config loading is: only checks with a schema pay for ajv.
  const modern = typeof schema.$schema === 'string' && schema.$schema.includes('2020-12');
  /* eslint-disable @typescript-eslint/no-require-imports */
  const AjvClass = modern
    ? (require('ajv/dist/2020') as typeof import('ajv/dist/2020')).default
    : (require('ajv') as typeof import('ajv')).default;
  const addFormats = (require('ajv-formats') as typeof import('ajv-formats')).default;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const ajv = new AjvClass({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);
  compiled.set(schema, validate);
  return validate;
}
