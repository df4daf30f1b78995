import { isMap, isScalar, isSeq } from 'yaml';

/** Where in the appspec a finding is: keys and list indexes from the root. */
export type Path = PropertyKey[];
export type ErrorFn = (path: Path, message: string) => void;

/** What a YAML node is, for a message: `a mapping`, `the string "x"`, `80`. */
export function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    return String(node.source ?? v);
  }
  return typeof node;
}

export function keyOf(pair: { key: unknown }): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

export function stringField(
  node: unknown,
  path: Path,
  error: ErrorFn,
  required: boolean,
): string | undefined {
  if (node === undefined) {
    if (required) error(path, 'missing');
    return undefined;
  }
  if (!isScalar(node) || typeof node.value !== 'string' || node.value.trim() === '') {
    error(path, `expected a non-empty string, got ${describe(node)}`);
    return undefined;
  }
  return node.value;
}

export function stringList(node: unknown, path: Path, error: ErrorFn): void {
  if (!isSeq(node) || node.items.length === 0) {
    error(path, `expected a non-empty list of strings, got ${describe(node)}`);
    return;
  }
  node.items.forEach((item, i) => {
    if (!isScalar(item) || typeof item.value !== 'string' || item.value === '')
      error([...path, i], `expected a string, got ${describe(item)}`);
  });
}

export function integerField(node: unknown, path: Path, error: ErrorFn, max: number): number | undefined {
  if (node === undefined) return undefined;
  if (
    !isScalar(node) ||
    typeof node.value !== 'number' ||
    !Number.isInteger(node.value) ||
    node.value < 0 ||
    node.value > max
  ) {
    error(path, `expected an integer 0-${max} (a number, not a string), got ${describe(node)}`);
    return undefined;
  }
  return node.value;
}
