// @ts-check
'use strict';

/**
 * How the hook bundles are shaped as ES modules (used by deploy/esbuild-plugins.js): chunks named
 * after their entry with a `require` in every file, `.js` files marked `"type": "module"`, an ES
 * module facade for each CommonJS package loaded with `import()`, external packages and Node's
 * built-in modules loaded with `require`, the AWS SDK from the runtime when asked, and browser-only
 * modules left out.
 */
const { mkdirSync, writeFileSync } = require('node:fs');
const { builtinModules, createRequire } = require('node:module');
const { basename, extname, join } = require('node:path');

const REQUIRED = 'greenlight-required';
const ESM_FACADE = 'greenlight-esm-facade';
const BROWSER_ONLY = 'greenlight-browser-only';
const BUILTIN_FACADE = 'greenlight-builtin-facade';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** Node's built-in modules, without the `node:` prefix (some, like `node:sqlite`, exist only with it). */
const BUILTINS = new Set(builtinModules.map((name) => name.replace(/^node:/, '')));
const isBuiltin = (/** @type {string} */ path) => path.startsWith('node:') || BUILTINS.has(path);
const RUNTIME_SDK = '@aws-sdk/*';
const REQUIRE_BANNER =
  "import { createRequire as __greenlightCreateRequire } from 'node:module'; const require = __greenlightCreateRequire(import.meta.url);";

/**
 * ES module output: each entry's chunks are named after it, and every file gets a `require`.
 * @param {import('esbuild').BuildOptions} options
 */
function esmOutputOptions(options) {
  if (options.format !== 'esm') return;
  const entries = Array.isArray(options.entryPoints) ? options.entryPoints : [];
  if (options.splitting && !options.chunkNames && entries.length === 1 && typeof entries[0] === 'string') {
    options.chunkNames = `${basename(entries[0], extname(entries[0]))}.chunk-[hash]`;
  }
  const banner = options.banner?.js;
  if (!banner?.includes('createRequire')) {
    options.banner = { ...options.banner, js: banner ? `${REQUIRE_BANNER}\n${banner}` : REQUIRE_BANNER };
  }
}

/**
 * With `runtime`, the AWS SDK clients are left out of the bundle and loaded from the Lambda
 * runtime's copy (`/var/runtime/node_modules`, on the runtime's NODE_PATH).
 * @param {import('esbuild').BuildOptions} options
 * @param {string} source
 */
function awsSdkOptions(options, source) {
  const external = options.external ?? [];
  if (source === 'runtime' && !external.includes(RUNTIME_SDK)) options.external = [...external, RUNTIME_SDK];
}

/**
 * ES module output as `.js` files: a `package.json` of `"type": "module"` goes beside them.
 * @param {import('esbuild').PluginBuild} build
 */
function moduleTypeMarker(build) {
  const { format, outdir, outExtension, write } = build.initialOptions;
  const extension = outExtension?.['.js'] ?? '.js';
  if (format !== 'esm' || extension !== '.js' || !outdir || write === false) return;
  build.onEnd((result) => {
    if (result.errors.length) return;
    mkdirSync(outdir, { recursive: true });
    writeFileSync(join(outdir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  });
}

/**
 * The names a CommonJS package exports, read by loading it here; undefined when it cannot be
 * `require`d (an ES module package needs no facade).
 * @param {string} specifier
 * @param {string} fromDir
 */
function commonJsExportNames(specifier, fromDir) {
  let exported;
  try {
    exported = createRequire(join(fromDir, 'noop.js'))(specifier);
  } catch {
    return undefined;
  }
  if (exported === null || (typeof exported !== 'object' && typeof exported !== 'function')) return [];
  return Object.keys(exported).filter((name) => IDENTIFIER.test(name) && name !== '__esModule');
}

/**
 * The AWS SDK's core imports `bowser` (a browser user-agent parser) with `import()` for browsers'
 * runtime config; in Node it is never loaded, so it stays out of the zip.
 * @param {import('esbuild').PluginBuild} build
 */
function browserOnlyModules(build) {
  build.onResolve({ filter: /^bowser$/ }, (args) =>
    /[\\/]@aws-sdk[\\/]core[\\/]/.test(args.importer)
      ? { path: args.path, namespace: BROWSER_ONLY }
      : undefined,
  );
  build.onLoad({ filter: /.*/, namespace: BROWSER_ONLY }, (args) => ({
    contents: `throw new Error(${JSON.stringify(`${args.path} is not in this bundle: the AWS SDK uses it in browsers only`)});`,
    loader: 'js',
  }));
}

/**
 * `import()` of a CommonJS package goes through an ES module that names its exports (see above).
 * @param {import('esbuild').PluginBuild} build
 */
function esmFacades(build) {
  if (build.initialOptions.format !== 'esm') return;
  build.onResolve({ filter: /^[^./]/ }, (args) => {
    if (args.kind !== 'dynamic-import' || isBuiltin(args.path)) return undefined;
    const names = commonJsExportNames(args.path, args.resolveDir);
    if (!names) return undefined;
    return { path: args.path, namespace: ESM_FACADE, pluginData: { names, resolveDir: args.resolveDir } };
  });
  build.onLoad({ filter: /.*/, namespace: ESM_FACADE }, (args) => ({
    contents: [
      `import * as facade from ${JSON.stringify(args.path)};`,
      ...args.pluginData.names.map((name) =>
        name === 'default' ? 'export default facade.default;' : `export const ${name} = facade.${name};`,
      ),
    ].join('\n'),
    loader: 'js',
    resolveDir: args.pluginData.resolveDir,
  }));
}

/**
 * In ES module output, `import`s of external packages become `require`s (see above).
 * @param {import('esbuild').PluginBuild} build
 */
function requireExternals(build) {
  const { format, external = [] } = build.initialOptions;
  const patterns = external
    .filter((name) => !name.startsWith('node:') && !name.startsWith('.'))
    .map((name) => new RegExp(`^${name.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}(/.*)?$`));
  if (format !== 'esm') return;
  build.onLoad({ filter: /.*/, namespace: REQUIRED }, (args) => ({
    contents: `module.exports = require(${JSON.stringify(args.path)});`,
    loader: 'js',
  }));
  requireBuiltins(build);
  if (patterns.length === 0) return;
  build.onResolve({ filter: /^[^./]/ }, (args) => {
    if (!patterns.some((pattern) => pattern.test(args.path))) return undefined;
    if (args.namespace === REQUIRED) return { path: args.path, external: true };
    if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
    return { path: args.path, namespace: REQUIRED };
  });
}

/**
 * In ES module output, Node's built-in modules are loaded with `require`, also where a source
 * imports them. Node gives an imported built-in an ES module facade whose creation reads every
 * export, and so runs the lazy getters a `require` leaves alone: `node:http`'s `WebSocket`,
 * `CloseEvent` and `MessageEvent` load Node's own copy of undici and `node:http2`, tens of
 * milliseconds of a cold start for a hook that uses neither. A static `import` becomes a
 * CommonJS `require`; an `import()` gets an ES module of its own that `require`s the built-in and
 * names its plain exports (a CommonJS chunk would export only `default`).
 * @param {import('esbuild').PluginBuild} build
 */
function requireBuiltins(build) {
  build.onResolve({ filter: /^[a-z_]/ }, (args) => {
    if (!isBuiltin(args.path)) return undefined;
    if (args.namespace === REQUIRED || args.namespace === BUILTIN_FACADE)
      return { path: args.path, external: true };
    if (args.kind === 'import-statement') return { path: args.path, namespace: REQUIRED };
    if (args.kind === 'dynamic-import') return { path: args.path, namespace: BUILTIN_FACADE };
    return undefined;
  });
  // `import()` of a built-in: an ES module that `require`s it and names its plain exports (its
  // lazy getters stay unread); the AWS SDK imports node:http this way for an http:// endpoint.
  build.onLoad({ filter: /.*/, namespace: BUILTIN_FACADE }, (args) => {
    const exported = require(args.path);
    const names = Object.entries(Object.getOwnPropertyDescriptors(exported))
      .filter(([name, descriptor]) => 'value' in descriptor && IDENTIFIER.test(name) && name !== 'default')
      .map(([name]) => name);
    return {
      contents: [
        `const builtin = require(${JSON.stringify(args.path)});`,
        'export default builtin;',
        ...names.map((name) => `export const ${name} = builtin.${name};`),
      ].join('\n'),
      loader: 'js',
    };
  });
}

module.exports = {
  awsSdkOptions,
  browserOnlyModules,
  esmFacades,
  esmOutputOptions,
  moduleTypeMarker,
  requireExternals,
};
