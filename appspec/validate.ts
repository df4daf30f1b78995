import { isMap, isScalar, parseDocument, type Document, type Node } from 'yaml';
import { formatPath } from '../lib/config-issues';
import { validateHooks } from './hooks';
import { validateResources } from './resources';
import { describe, keyOf, type Path } from './yaml-fields';

export {
  CODEDEPLOY_HOOK_PREFIX,
  findPackageOutput,
  hookFunctionNameOf,
  packagedFunctionNames,
} from './hooks';
export { CAPACITY_PROVIDER_BASE_MAX, CAPACITY_PROVIDER_WEIGHT_MAX } from './resources';

/** What a validation found: errors make the appspec unusable; warnings are worth a look. */
export interface AppspecValidation {
  ok: boolean;
  errors: string[];
  warnings: string[];
  /** The hooks as found, in order (only when they could be read). */
  hooks: Array<{ event: string; functionName: string }>;
}

export interface ValidateAppspecOptions {
  /** Function names of this service's package output: every hook must name one of them. */
  functionNames?: readonly string[];
}

/**
 * Checks an ECS appspec (YAML or JSON) the way CodeDeploy will read it: version 0.0, one
 * AWS::ECS::Service target, a task definition, a container name and numeric port, network
 * configuration all-or-none, capacity provider strategy items within ECS's ranges, and Hooks as
 * single-key objects naming ECS lifecycle events and valid Lambda functions (this service's
 * functions, when its package output is given).
 */
export function validateAppspec(text: string, options: ValidateAppspecOptions = {}): AppspecValidation {
  const errors: string[] = [];
  const warnings: string[] = [];
  const hooks: AppspecValidation['hooks'] = [];
  const error = (path: Path, message: string) => errors.push(`${formatPath(path)}: ${message}`);
  const result = () => ({ ok: errors.length === 0, errors, warnings, hooks });

  let doc: Document;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    errors.push(`(root): cannot parse: ${(err as Error).message}`);
    return result();
  }
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0]
      ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}`
      : '';
    const message = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    errors.push(`(root): invalid YAML${where}: ${message}`);
    return result();
  }
  const root = doc.contents;
  if (!isMap(root)) {
    error([], `expected a mapping with version, Resources and Hooks, got ${describe(root)}`);
    return result();
  }
  for (const pair of root.items) {
    const key = keyOf(pair);
    if (!['version', 'Resources', 'Hooks'].includes(key))
      error([key], 'unknown key (expected version, Resources, Hooks)');
  }

  const version = root.get('version', true) as Node | undefined;
  if (version === undefined) error(['version'], 'missing; expected 0.0');
  else if (!isScalar(version) || String(version.source ?? version.value) !== '0.0')
    error(['version'], `expected 0.0, got ${describe(version)}`);

  validateResources(root.get('Resources', true) as Node | undefined, error, warnings);
  validateHooks(root.get('Hooks', true) as Node | undefined, error, warnings, hooks, options.functionNames);
  return result();
}
