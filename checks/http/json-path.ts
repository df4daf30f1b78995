import { search } from '@aws-lambda-powertools/jmespath';

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
