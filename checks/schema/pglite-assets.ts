// PGlite's WebAssembly, its file-system bundle and an initialised data directory, as a hook
// bundle ships them. Run from node_modules (the CLI, the tests), PGlite finds its own files beside
// its module and there is nothing to hand it: this module says so. A hook bundle cannot leave
// them beside PGlite's module, which esbuild has folded into a chunk of the handler's, so
// deploy/pglite-assets.js copies them into a folder named after the handler (only that function's
// zip carries it) and replaces this module with one that reads them from there.

/** What `PGlite.create` is given when it cannot find its own files. */
export interface PgliteAssets {
  pgliteWasmModule: WebAssembly.Module;
  initdbWasmModule: WebAssembly.Module;
  fsBundle: Blob;
  /** A data directory initialised at packaging time (`dumpDataDir('gzip')`): no initdb at run time. */
  loadDataDir: Blob;
}

/** The packaged assets; undefined where PGlite finds its own files (outside a hook bundle). */
export async function pgliteAssets(): Promise<PgliteAssets | undefined> {
  return undefined;
}
