'use strict';
/**
 * What a greenlight.yml asks of the stack and of the bundles: the secrets and parameters it
 * references, the check types it names, its `auto` targets and discovering checks, and its report
 * reserve. The serverless plugin derives IAM from it; the esbuild plugin leaves out what it does
 * not use.
 */
const { parse } = require('yaml');

const DEFAULT_REPORT_RESERVE_MS = 10_000;
const REFERENCE = /\$\{(secretsmanager|ssm):([^}]*)\}/g;
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

/** `${secretsmanager:...}` / `${ssm:...}` references and check types used by a greenlight.yml text. */
function analyseConfig(text, source) {
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
  const checks = doc.checks && typeof doc.checks === 'object' ? Object.entries(doc.checks) : [];
  const checkTypes = new Set(checks.map(([, c]) => c && c.type).filter((t) => typeof t === 'string'));
  const discoveringChecks = checks
    .filter(([, c]) => c && DISCOVERING_CHECK_TYPES.has(c.type) && c.discover === true)
    .map(([name]) => name);
  const schemaEngines = new Set(
    checks.filter(([, c]) => c && c.type === 'schema').flatMap(([, c]) => schemaEnginesOf(c)),
  );
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
    schemaEngines: [...schemaEngines].sort(),
    reportReserveMs: reserve,
  };
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

module.exports = { analyseConfig, awsSdkSource };
