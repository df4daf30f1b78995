import type { RequestStep } from './step';

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${name}` with captured or given values; an unknown name throws (the config check prevents it). */
export function substitute(text: string, variables: Readonly<Record<string, string>>): string {
  if (!text.includes('${')) return text;
  return text.replace(VARIABLE, (whole, name: string) => {
    const value = variables[name];
    if (value === undefined) throw new Error(`variable \${${name}} has no value (was its capture skipped?)`);
    return value;
  });
}

export function substituteDeep(value: unknown, variables: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return substitute(value, variables);
  if (Array.isArray(value)) return value.map((v) => substituteDeep(v, variables));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteDeep(v, variables)]));
  }
  return value;
}

/** A `${name}` used where no earlier step captured it (nor was it given): for config validation. */
export interface VariableProblem {
  /** e.g. `requests[1].headers.authorization`. */
  path: string;
  message: string;
}

/**
 * Finds `${name}` references that no earlier step captures and that are not in `given`, so a
 * misspelt variable is a config error at load time rather than a failed deployment. With
 * `independent` (steps run concurrently), no step may use another step's captures.
 */
export function flowVariableProblems(
  steps: readonly RequestStep[],
  given: Iterable<string> = [],
  independent = false,
  prefix = 'requests',
): VariableProblem[] {
  const known = new Set(given);
  const problems: VariableProblem[] = [];
  steps.forEach((step, i) => {
    const where = `${prefix}[${i}]`;
    const visit = (value: unknown, path: string) => {
      if (typeof value === 'string') {
        for (const match of value.matchAll(VARIABLE)) {
          const name = match[1]!;
          if (known.has(name)) continue;
          const capturedLater = steps.some((s, j) => j !== i && s.captures && name in s.captures);
          const why =
            independent && capturedLater
              ? `\${${name}} comes from another request's capture, but requests run concurrently`
              : `unknown variable \${${name}}; ${known.size ? `available: ${[...known].join(', ')}` : 'no variable is captured before this request'}`;
          problems.push({ path, message: why });
        }
      } else if (Array.isArray(value)) value.forEach((v, j) => visit(v, `${path}[${j}]`));
      else if (value !== null && typeof value === 'object')
        for (const [k, v] of Object.entries(value)) visit(v, `${path}.${k}`);
    };
    for (const field of ['path', 'url', 'headers', 'query', 'body', 'json', 'form'] as const)
      visit(step[field], `${where}.${field}`);
    visit(step.tls?.serverName, `${where}.tls.serverName`);
    visit(step.tls?.servername, `${where}.tls.servername`);
    if (!independent) for (const name of Object.keys(step.captures ?? {})) known.add(name);
  });
  return problems;
}
