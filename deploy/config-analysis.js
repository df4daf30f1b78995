'use strict';
/**
 * What a greenlight.yml asks of the stack and of the bundles: the secrets and parameters it
 * references, the check types it names, its `auto` targets and discovering checks, and its report
 * reserve. The serverless plugin derives IAM from it; the esbuild plugin leaves out what it does
 * not use.
 */
const { readFileSync } = require('node:fs');
const { parse } = require('yaml');

const DEFAULT_REPORT_RESERVE_MS = 10_000;
const REFERENCE = /\$\{(secretsmanager|ssm):([^}]*)\}/g;
/** Check types that connect to a database of their own: the schema check, and the rehearsal (PostgreSQL). */
const MIGRATION_REHEARSAL = 'migration-rehearsal';
/** Check types whose `discover: true` reads the deployment (checks/discovery/target-groups.ts). */
const DISCOVERING_CHECK_TYPES = new Set(['target-groups']);

/** Where the hooks get the AWS SDK v3 clients: packed into each zip (as tested), or the Lambda runtime's copy. */
const AWS_SDK_SOURCES = ['bundled', 'runtime'];

/**
 * The awsSdk param, checked.
 * @param {string | undefined} value
 */
function awsSdkSource(value = 'bundled') {
  if (!AWS_SDK_SOURCES.includes(value))
    throw new Error(
      `param awsSdk must be one of ${AWS_SDK_SOURCES.join(', ')}, got ${JSON.stringify(value)}`,
    );
  return value;
}

/** Where a failed http check adds green's tasks' diagnosis (hooks/wants-green-diagnosis.ts): CodeDeploy events… */
const GREEN_DIAGNOSIS_EVENTS = ['AfterInstall', 'AfterAllowTestTraffic'];
/** …and ECS built-in stages (hooks/ecs-green-diagnosis.ts). */
const ECS_GREEN_DIAGNOSIS_STAGES = ['POST_SCALE_UP', 'TEST_TRAFFIC_SHIFT', 'POST_TEST_TRAFFIC_SHIFT'];

/** The CodeDeploy lifecycle events; every other key of `hooks` is an Amazon ECS lifecycle stage. */
const CODEDEPLOY_EVENTS = [
  'BeforeInstall',
  'AfterInstall',
  'AfterAllowTestTraffic',
  'BeforeAllowTraffic',
  'AfterAllowTraffic',
];

/**
 * Which keys of `hooks` a handler file runs, read from its source: the event of
 * `createHookHandler('<Event>')`, or every ECS stage for `createEcsHookHandler(`. Undefined (every
 * event) for any other file.
 * @param {string} entryPath
 * @returns {((hook: string) => boolean) | undefined}
 */
function handlerEvents(entryPath) {
  let source;
  try {
    source = readFileSync(entryPath, 'utf8');
  } catch {
    return undefined;
  }
  const codedeploy = /\bcreateHookHandler\(\s*['"](\w+)['"]/.exec(source)?.[1];
  if (codedeploy) return (hook) => hook === codedeploy;
  if (/\bcreateEcsHookHandler\(/.test(source)) return (hook) => !CODEDEPLOY_EVENTS.includes(hook);
  return undefined;
}

/**
 * `${secretsmanager:...}` / `${ssm:...}` references and check types used by a greenlight.yml text.
 * With `runs` (see handlerEvents), the check types, schema engines and discovering checks are
 * those of the checks listed under the hooks it runs; the references and targets stay the whole
 * config's, which is loaded whole.
 * @param {string} text
 * @param {string} source
 * @param {{ runs?: (hook: string) => boolean }} [options]
 */
function analyseConfig(text, source, options = {}) {
  let doc;
  try {
    doc = parse(text) ?? {};
  } catch (err) {
    throw new Error(`${source}: invalid YAML: ${String(err.message).split('\n')[0]}`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${source}: expected a mapping at the top level`);
  const secrets = new Set();
  const parameters = new Set();
  const walk = (value) => {
    if (typeof value === 'string') {
      for (const [, provider, argument] of value.matchAll(REFERENCE)) {
        if (provider === 'secretsmanager') {
          const at = argument.lastIndexOf('#');
          secrets.add((at === -1 ? argument : argument.slice(0, at)).trim());
        } else {
          parameters.add(argument.trim());
        }
      }
    } else if (Array.isArray(value)) {
      value.forEach(walk);
    } else if (value && typeof value === 'object') {
      Object.values(value).forEach(walk);
    }
  };
  walk(doc);
  const hooks = doc.hooks && typeof doc.hooks === 'object' ? Object.entries(doc.hooks) : [];
  const listed = new Set(
    hooks
      .filter(([hook, names]) => options.runs?.(hook) !== false && Array.isArray(names))
      .flatMap(([, names]) => names),
  );
  const checks = (doc.checks && typeof doc.checks === 'object' ? Object.entries(doc.checks) : []).filter(
    ([name]) => !options.runs || listed.has(name),
  );
  const checkTypes = new Set(checks.map(([, c]) => c && c.type).filter((t) => typeof t === 'string'));
  const discoveringChecks = checks
    .filter(([, c]) => c && DISCOVERING_CHECK_TYPES.has(c.type) && c.discover === true)
    .map(([name]) => name);
  const schemaEngines = new Set([
    ...checks.filter(([, c]) => c && c.type === 'schema').flatMap(([, c]) => schemaEnginesOf(c)),
    ...(checks.some(([, c]) => c && c.type === MIGRATION_REHEARSAL) ? ['postgres'] : []),
  ]);
  const { snsTopics, eventBuses } = notifyDestinations(doc.notify);
  const s3Objects = schemaS3Objects(checks);
  const hookLists = doc.hooks && typeof doc.hooks === 'object' ? doc.hooks : {};
  // A failed http check at these events adds green's tasks' diagnosis (hooks/green-diagnosis.ts,
  // hooks/ecs-green-diagnosis.ts).
  const httpChecks = new Set(checks.filter(([, c]) => c && c.type === 'http').map(([name]) => name));
  const httpCheckAt = (event) =>
    options.runs?.(event) !== false &&
    Array.isArray(hookLists[event]) &&
    hookLists[event].some((name) => httpChecks.has(name));
  const greenDiagnosis = GREEN_DIAGNOSIS_EVENTS.some(httpCheckAt);
  const ecsGreenDiagnosis = ECS_GREEN_DIAGNOSIS_STAGES.some(httpCheckAt);
  const expectsJsonSchema = checks.some(([, c]) => hasExpectedSchema(c));
  const httpClient = checks.some(([, c]) => usesHttpClient(c));
  const targets = doc.targets && typeof doc.targets === 'object' ? doc.targets : {};
  const autoTargets = Object.keys(targets).filter((name) => targets[name] === 'auto');
  const reserve =
    doc.runner && Number.isInteger(doc.runner.reportReserveMs)
      ? doc.runner.reportReserveMs
      : DEFAULT_REPORT_RESERVE_MS;
  // Bake windows and approvals keep state between invocations (deploy/gate-resources.js).
  const gated = checks.some(([, c]) => c && (c.window !== undefined || c.type === 'approval'));
  return {
    gated,
    secrets: [...secrets].sort(),
    parameters: [...parameters].sort(),
    checkTypes: [...checkTypes].sort(),
    autoTargets,
    discoveringChecks,
    greenDiagnosis,
    ecsGreenDiagnosis,
    schemaEngines: [...schemaEngines].sort(),
    s3Objects,
    expectsJsonSchema,
    httpClient,
    reportReserveMs: reserve,
    snsTopics,
    eventBuses,
  };
}

/** Each entry of a `notify:` channel list that is a mapping. */
function entries(section, key) {
  const list = section && typeof section === 'object' ? section[key] : undefined;
  return Array.isArray(list) ? list.filter((e) => e && typeof e === 'object') : [];
}

/**
 * The SNS topics and event buses a `notify:` section sends to (for sns:Publish and
 * events:PutEvents); a value given as a `${...}` reference is kept as written.
 */
function notifyDestinations(notify) {
  const snsTopics = new Set(
    entries(notify, 'sns')
      .map((e) => e.topicArn)
      .filter((t) => typeof t === 'string'),
  );
  const eventBuses = new Set(
    entries(notify, 'eventbridge').map((e) =>
      typeof e.eventBusName === 'string' ? e.eventBusName : 'default',
    ),
  );
  return { snsTopics: [...snsTopics].sort(), eventBuses: [...eventBuses].sort() };
}

/**
 * The destinations of the platform's default `notify:` section (`GREENLIGHT_NOTIFY`, JSON or
 * YAML), to be granted beside the config's own.
 */
function analyseNotifyDefaults(text, source) {
  if (!text || !String(text).trim()) return { snsTopics: [], eventBuses: [] };
  let doc;
  try {
    doc = parse(String(text));
  } catch (err) {
    throw new Error(`${source}: invalid JSON or YAML: ${String(err.message).split('\n')[0]}`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`${source}: expected a notify: mapping (sns, eventbridge, slack, webhook)`);
  return notifyDestinations(doc);
}

/** Whether a check's options hold a request whose `expect` has a JSON Schema (`expect.schema`). */
function hasExpectedSchema(value) {
  if (Array.isArray(value)) return value.some(hasExpectedSchema);
  if (!value || typeof value !== 'object') return false;
  if (value.expect && typeof value.expect === 'object' && 'schema' in value.expect) return true;
  return Object.values(value).some(hasExpectedSchema);
}

/** Check types that make HTTP requests whatever their options: the requests themselves, contracts and logins. */
const HTTP_CHECK_TYPES = new Set(['http', 'session']);

/**
 * Whether a check makes HTTP requests with the http check's client: an http or session check, or
 * a schema check with a contract fetched from a `url` or a `target` (a `file` or `inline` one is not).
 */
function usesHttpClient(check) {
  if (!check || typeof check !== 'object') return false;
  if (HTTP_CHECK_TYPES.has(check.type)) return true;
  if (check.type !== 'schema' || check.contracts === undefined) return false;
  if (!check.contracts || typeof check.contracts !== 'object') return true;
  return Object.values(check.contracts).some(
    (source) => !source || typeof source !== 'object' || 'url' in source || 'target' in source,
  );
}

const URL_ENGINES = { postgres: 'postgres', postgresql: 'postgres', mysql: 'mysql', mariadb: 'mysql' };

/**
 * The database engines a schema check may connect to: its `engine`, else its URL's scheme; both
 * when neither can be read before the config is loaded (a URL from `${env:...}`, say).
 */
function schemaEnginesOf(check) {
  if (check.engine === 'postgres' || check.engine === 'mysql') return [check.engine];
  const scheme = typeof check.url === 'string' ? /^([a-z]+):\/\//.exec(check.url)?.[1] : undefined;
  const engine = scheme && URL_ENGINES[scheme];
  return engine ? [engine] : ['postgres', 'mysql'];
}

/**
 * The S3 objects schema checks and migration rehearsals read (`statements.recorded:
 * s3://bucket/key`) and write (`record: s3://bucket/key`), as `bucket/key` for the IAM resource;
 * and the folders rehearsals list and read (`migrations: s3://bucket/prefix/`), as `bucket/prefix/`.
 */
function schemaS3Objects(checks) {
  const reads = new Set();
  const writes = new Set();
  const folders = new Set();
  const object = (value) =>
    typeof value === 'string' && value.startsWith('s3://') ? value.slice('s3://'.length) : undefined;
  for (const [, check] of checks) {
    if (!check || (check.type !== 'schema' && check.type !== MIGRATION_REHEARSAL)) continue;
    const recorded =
      check.statements && typeof check.statements === 'object'
        ? object(check.statements.recorded)
        : undefined;
    if (recorded) reads.add(recorded);
    const record = check.type === 'schema' ? object(check.record) : undefined;
    if (record) writes.add(record);
    const migrations = check.type === MIGRATION_REHEARSAL ? object(check.migrations) : undefined;
    if (migrations) folders.add(migrations.endsWith('/') ? migrations : `${migrations}/`);
  }
  return { read: [...reads].sort(), write: [...writes].sort(), folders: [...folders].sort() };
}

module.exports = {
  ECS_GREEN_DIAGNOSIS_STAGES,
  GREEN_DIAGNOSIS_EVENTS,
  MIGRATION_REHEARSAL,
  analyseConfig,
  analyseNotifyDefaults,
  awsSdkSource,
  handlerEvents,
};
