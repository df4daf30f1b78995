// @ts-check
'use strict';
/**
 * PGlite (PostgreSQL in WebAssembly) in a hook bundle, for the migration-rehearsal check. PGlite
 * finds `pglite.wasm`, `initdb.wasm` and `pglite.data` beside its own module
 * (`new URL('./pglite.wasm', import.meta.url)`). In the bundle its code sits in a chunk of the
 * handler's, in the folder every function's chunks share, so files beside it would go into every
 * zip. Instead, esbuild bundles PGlite's JavaScript like any other module, and the files go to a
 * folder named after the handler (`handlers/before-install.pglite/`): serverless-esbuild leaves a
 * handler's `<name>.*` files out of the other functions' zips, so only the functions whose events
 * run a rehearsal carry them. `checks/schema/pglite-assets.ts` is replaced by a module that reads
 * them from there and hands them to `PGlite.create`, with a data directory initialised now
 * (PGlite's own initdb at run time would double its memory and add seconds to every cold start).
 * Marking PGlite external instead would package its whole dist (27 MB with every extension).
 */
const { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const { basename, dirname, extname, join } = require('node:path');
const { Buffer } = require('node:buffer');

const FILES = ['pglite.wasm', 'initdb.wasm', 'pglite.data'];
const DATA_DIR = 'datadir.tgz';

/** PGlite's dist folder and version, as installed. */
function pgliteDist() {
  const entry = require.resolve('@electric-sql/pglite');
  const dist = dirname(entry);
  const { version } = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8'));
  return { dist, version };
}

/**
 * A data directory PGlite initialised, as `dumpDataDir('gzip')` writes it; kept in
 * node_modules/.cache/greenlight, where `greenlight schema rehearse` keeps the same file.
 * @param {string} dist
 * @param {string} version
 */
async function initialisedDataDir(dist, version) {
  const cache = join(dist, '..', '..', '..', '.cache', 'greenlight', `pglite-${version}-datadir.tgz`);
  if (existsSync(cache)) return cache;
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create();
  try {
    const dump = await db.dumpDataDir('gzip');
    mkdirSync(dirname(cache), { recursive: true });
    const partial = `${cache}.${process.pid}.tmp`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, cache);
  } finally {
    await db.close();
  }
  return cache;
}

/** The module that replaces checks/schema/pglite-assets.ts: reads the files from `folder`, beside the chunk. */
function assetsModule(folder) {
  return `import { readFile } from 'node:fs/promises';
const folder = new URL(${JSON.stringify(`./${folder}/`)}, import.meta.url);
const read = (name) => readFile(new URL(name, folder));
export async function pgliteAssets() {
  const [pglite, initdb, data, dataDir] = await Promise.all(${JSON.stringify([...FILES, DATA_DIR])}.map(read));
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([WebAssembly.compile(pglite), WebAssembly.compile(initdb)]);
  return { pgliteWasmModule, initdbWasmModule, fsBundle: new Blob([data]), loadDataDir: new Blob([dataDir]) };
}
`;
}

/**
 * Ships PGlite's files beside the bundle, in a folder named after its one entry.
 * @param {import('esbuild').PluginBuild} build
 */
function pgliteAssets(build) {
  const { entryPoints, format, outdir, write } = build.initialOptions;
  const entries = Array.isArray(entryPoints) ? entryPoints : [];
  const entry = entries.length === 1 ? entries[0] : undefined;
  const entryPath = typeof entry === 'string' ? entry : entry?.in;
  const folder = `${entryPath ? basename(entryPath, extname(entryPath)) : 'greenlight'}.pglite`;
  // import.meta.url locates the files: ES module output only (the hooks' format).
  if (format !== 'esm' || !outdir || write === false) return;
  build.onLoad({ filter: /[\\/]checks[\\/]schema[\\/]pglite-assets\.ts$/ }, () => ({
    contents: assetsModule(folder),
    loader: 'js',
  }));
  build.onEnd(async (result) => {
    if (result.errors.length) return;
    const { dist, version } = pgliteDist();
    const target = join(outdir, folder);
    mkdirSync(target, { recursive: true });
    for (const file of FILES) copyFileSync(join(dist, file), join(target, file));
    copyFileSync(await initialisedDataDir(dist, version), join(target, DATA_DIR));
  });
}

module.exports = { pgliteAssets };
