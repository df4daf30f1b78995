import type { ValidateFunction } from 'ajv';

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
