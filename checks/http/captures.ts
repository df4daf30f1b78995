import { REDACTED, isSecretField, redactText, registerSecret } from '../../lib/redact';
import { jmesPath } from './json-path';
import { ParsedBody, excerpt } from './parsed-body';
import type { StepContext, StepResult } from './flow-types';
import type { Capture } from './step';

/**
 * Stores a passed step's captures as `${name}` variables (secret ones registered for redaction);
 * a capture that finds nothing fails the step.
 */
export function capture(captures: Record<string, Capture>, result: StepResult, sc: StepContext): void {
  const response = result.response!;
  const body = new ParsedBody(response);
  for (const [name, source] of Object.entries(captures)) {
    let value: string | undefined;
    let why = 'nothing matched';
    let from: string;
    if (source.header !== undefined) {
      from = `header ${source.header}`;
      const raw = response.headers[source.header.toLowerCase()];
      value = Array.isArray(raw) ? raw.join(', ') : raw;
    } else if (source.cookie !== undefined) {
      from = `cookie ${source.cookie}`;
      value = sc.jar.get(source.cookie, response.url);
    } else if (source.json !== undefined) {
      from = `json ${source.json}`;
      const parsed = body.json();
      if ('error' in parsed) why = parsed.error;
      else {
        const found = jmesPath(source.json, parsed.value);
        if ('error' in found) why = found.error;
        else if (found.value !== null && found.value !== undefined)
          value = typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
      }
    } else {
      from = `regex /${source.regex}/`;
      const m = new RegExp(source.regex!).exec(body.text);
      if (m) value = m[1] ?? m[0];
      else why = `no match in ${excerpt(body.text)}`;
    }
    const secret =
      source.secret ??
      (source.cookie !== undefined ||
        isSecretField(name) ||
        (source.header !== undefined && sc.secretHeaders.has(source.header)) ||
        (source.json !== undefined && isSecretField(lastField(source.json))));
    if (value !== undefined) {
      if (secret) registerSecret(value);
      sc.variables[name] = value;
      result.assertions.push({
        what: `${result.label} capture ${name}`,
        expected: from,
        actual: secret ? REDACTED : value,
        ok: true,
      });
    } else {
      result.assertions.push({
        what: `${result.label} capture ${name}`,
        expected: from,
        actual: why,
        ok: false,
      });
      if (result.outcome === 'passed') {
        result.outcome = 'failed';
        result.message = redactText(
          `${result.method} ${result.url} returned ${result.status}, but capture ${name} (${from}) found ${why}`,
        );
      }
    }
  }
}

/** The last field a JMESPath expression names: `access_token` in `data.access_token`. */
function lastField(expression: string): string {
  return /([A-Za-z_][\w-]*)[^A-Za-z_]*$/.exec(expression)?.[1] ?? '';
}
