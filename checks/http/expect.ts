import type { ValidateFunction } from 'ajv';
import { REDACTED, type SecretNames } from '../../lib/redact';
import type { Assertion } from '../types';
import { deepEqual } from './deep-equal';
import { jmesPath } from './json-path';
import { ParsedBody, evidence, excerpt } from './parsed-body';
import type { Expect, HeaderExpectation, JsonExpectation } from './step';

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
