// @ts-check
'use strict';
/**
 * undici ships its HTTP/1.1 parser, llhttp, twice as WebAssembly (70 KB of base64 each): built with
 * SIMD instructions, which it compiles first, and without, which it falls back to when the SIMD
 * build does not compile (a CPU without WebAssembly SIMD, or `UNDICI_NO_WASM_SIMD=1`). Every CPU
 * Lambda runs (Graviton arm64, x86-64) has WebAssembly SIMD, so a hook bundle carries the SIMD
 * build alone, and the fallback's module gives the same bytes: on a CPU without SIMD the request
 * then fails with V8's compile error, which names SIMD, in the check's result.
 * And undici's client loads its HTTP/2 half on first use instead of with the client.
 */
const { readFile } = require('node:fs/promises');

const FALLBACK = /[\\/]node_modules[\\/]undici[\\/]lib[\\/]llhttp[\\/]llhttp-wasm\.js$/;

const CLIENT = /[\\/]node_modules[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client\.js$/;
const EAGER_H2 = "const connectH2 = require('./client-h2.js')";
const LAZY_H2 =
  "let clientH2; const connectH2 = (...args) => (clientH2 ??= require('./client-h2.js'))(...args)";

/** @param {import('esbuild').PluginBuild} build */
function undiciTrim(build) {
  // The HTTP/2 client (and Node's http2 module under it) loads only when a server negotiates h2,
  // which a check's agent never offers: a cold start no longer compiles them.
  build.onLoad({ filter: CLIENT }, async (args) => {
    const source = await readFile(args.path, 'utf8');
    if (!source.includes(EAGER_H2)) return undefined;
    return { contents: source.replace(EAGER_H2, LAZY_H2), loader: 'js' };
  });
  build.onLoad({ filter: FALLBACK }, () => ({
    contents: "module.exports = require('./llhttp_simd-wasm.js');",
    loader: 'js',
  }));
}

module.exports = { undiciTrim };
