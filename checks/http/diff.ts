import { REDACTED, type SecretNames } from '../../lib/redact';
import type { Assertion } from '../types';
import { deepEqual } from './deep-equal';
import { ParsedBody, evidence, excerpt } from './parsed-body';
import type { HttpResponse } from './client';

type Segment = string | number;
type PatternSegment = string | number | typeof ANY;
const ANY = Symbol('any');

const TOKEN = /\.?([A-Za-z_$][\w$-]*|\*)|\[(\d+|\*)\]|\["((?:[^"\\]|\\.)*)"\]/gy;

/**
 * Parses a diff path pattern: `version`, `meta.generatedAt`, `items[*].updatedAt`, `*.etag`,
 * `["odd key"]`. Throws with the position of the first character it cannot read.
 */
export function parsePathPattern(pattern: string): PatternSegment[] {
  const text = pattern.startsWith('$') ? pattern.slice(1) : pattern;
  const out: PatternSegment[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m || (out.length === 0 && text[at] === '.' && at === 0 && pattern[0] !== '$')) {
      throw new Error(`cannot read path ${JSON.stringify(pattern)} at ${JSON.stringify(text.slice(at))}`);
    }
    if (m[1] !== undefined) out.push(m[1] === '*' ? ANY : m[1]);
    else if (m[2] !== undefined) out.push(m[2] === '*' ? ANY : Number(m[2]));
    else out.push(JSON.parse(`"${m[3]}"`) as string);
  }
  if (out.length === 0) throw new Error(`empty path ${JSON.stringify(pattern)}`);
  return out;
}

/** `items[0].id`, `["a b"]`. */
export function formatJsonPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || '(root)';
}

/** True when `path` is at or below one of the patterns. */
export function pathIgnorer(patterns: readonly string[]): (path: readonly Segment[]) => boolean {
  const parsed = patterns.map(parsePathPattern);
  return (path) =>
    parsed.some(
      (pattern) =>
        pattern.length <= path.length &&
        pattern.every(
          (seg, i) =>
            seg === ANY ||
            seg === path[i] ||
            (typeof seg === 'string' && String(path[i]) === seg && typeof path[i] !== 'number'),
        ),
    );
}

/** One place where blue and green disagree. */
export interface Difference {
  path: string;
  blue: unknown;
  green: unknown;
}

const ABSENT = '(absent)';

/** Every path where two JSON values differ, skipping ignored subtrees; arrays compare by index. */
export function diffJson(
  blue: unknown,
  green: unknown,
  ignored: (path: readonly Segment[]) => boolean,
  path: Segment[] = [],
  out: Difference[] = [],
): Difference[] {
  if (path.length && ignored(path)) return out;
  const bothObjects = isObject(blue) && isObject(green);
  const bothArrays = Array.isArray(blue) && Array.isArray(green);
  if (bothObjects) {
    const keys = new Set([...Object.keys(blue), ...Object.keys(green)]);
    for (const key of keys) {
      const inBlue = Object.prototype.hasOwnProperty.call(blue, key);
      const inGreen = Object.prototype.hasOwnProperty.call(green, key);
      const next = [...path, key];
      if (inBlue && inGreen) diffJson(blue[key], green[key], ignored, next, out);
      else if (!ignored(next))
        out.push({
          path: formatJsonPath(next),
          blue: inBlue ? blue[key] : ABSENT,
          green: inGreen ? green[key] : ABSENT,
        });
    }
  } else if (bothArrays) {
    const length = Math.max(blue.length, green.length);
    for (let i = 0; i < length; i++) {
      const next = [...path, i];
      if (i < blue.length && i < green.length) diffJson(blue[i], green[i], ignored, next, out);
      else if (!ignored(next))
        out.push({
          path: formatJsonPath(next),
          blue: i < blue.length ? blue[i] : ABSENT,
          green: i < green.length ? green[i] : ABSENT,
        });
    }
  } else if (!deepEqual(blue, green)) {
    out.push({ path: formatJsonPath(path), blue, green });
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export interface ResponseDiffOptions {
  /** Compare status codes. */
  status: boolean;
  /** Lower-case header names to compare. */
  headers: readonly string[];
  /** Compare bodies: JSON by path, anything else as text. */
  body: boolean;
  ignore: (path: readonly Segment[]) => boolean;
  secretHeaders: SecretNames;
  /** Differences reported per response at most (the rest are counted). */
  maxDifferences: number;
}

/** Compares blue's and green's answers to the same request: `expected` is blue's value, `actual` green's. */
export function diffResponses(
  label: string,
  blue: HttpResponse,
  green: HttpResponse,
  options: ResponseDiffOptions,
): Assertion[] {
  const differences: Difference[] = [];
  if (options.status && blue.status !== green.status)
    differences.push({ path: 'status', blue: blue.status, green: green.status });
  for (const name of options.headers) {
    const b = flat(blue.headers[name]);
    const g = flat(green.headers[name]);
    if (b !== g) {
      const secret = options.secretHeaders.has(name);
      differences.push({
        path: `header ${name}`,
        blue: b === undefined ? ABSENT : secret ? REDACTED : b,
        green: g === undefined ? ABSENT : secret ? REDACTED : g,
      });
    }
  }
  if (options.body) {
    const blueBody = new ParsedBody(blue);
    const greenBody = new ParsedBody(green);
    const bj = blueBody.json();
    const gj = greenBody.json();
    if ('value' in bj && 'value' in gj) {
      for (const d of diffJson(bj.value, gj.value, options.ignore))
        differences.push({ ...d, path: `json ${d.path}` });
    } else if ('value' in bj !== 'value' in gj) {
      differences.push({
        path: 'body',
        blue: 'value' in bj ? 'JSON' : excerpt(blueBody.text),
        green: 'value' in gj ? 'JSON' : excerpt(greenBody.text),
      });
    } else if (blueBody.text !== greenBody.text) {
      differences.push({ path: 'body', blue: excerpt(blueBody.text), green: excerpt(greenBody.text) });
    }
  }
  if (differences.length === 0)
    return [{ what: `${label} diff`, expected: 'same as blue', actual: 'same', ok: true }];
  const shown = differences.slice(0, options.maxDifferences).map((d) => ({
    what: `${label} diff ${d.path}`,
    expected: evidence(d.blue),
    actual: evidence(d.green),
    ok: false,
  }));
  const hidden = differences.length - shown.length;
  if (hidden > 0)
    shown.push({
      what: `${label} diff`,
      expected: 'same as blue',
      actual: `${hidden} more differences`,
      ok: false,
    });
  return shown;
}

function flat(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
