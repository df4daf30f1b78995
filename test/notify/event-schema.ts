import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** The committed JSON Schema of the event every channel sends, compiled once. */
const schema = JSON.parse(
  readFileSync(join(__dirname, '../../greenlight-event.schema.json'), 'utf8'),
) as object;
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const validate = ajv.compile(schema);

/** The schema's complaints about `event`, empty when it conforms. */
export function schemaErrors(event: unknown): string[] {
  return validate(event)
    ? []
    : (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
}
