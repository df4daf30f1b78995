// @ts-check
'use strict';
/**
 * undici ships its HTTP/1.1 parser, llhttp, twice as WebAssembly (70 KB of base64 each): built with
 * SIMD instructions, which it compiles first, and without, which it falls back to when the SIMD
 * build does not compile (a CPU without WebAssembly SIMD, or `UNDICI_NO_WASM_SIMD=1`). Every CPU
 * Lambda runs (Graviton arm64, x86-64) has WebAssembly SIMD, so a hook bundle carries the SIMD
 * build alone, and the fallback's module gives the same bytes: on a CPU without SIMD the request
 * then fails with V8's compile error, which names SIMD, in the check's result.
 */
const FALLBACK = /[\\/]node_modules[\\/]undici[\\/]lib[\\/]llhttp[\\/]llhttp-wasm\.js$/;

/** @param {import('esbuild').PluginBuild} build */
function undiciTrim(build) {
  build.onLoad({ filter: FALLBACK }, () => ({
    contents: "module.exports = require('./llhttp_simd-wasm.js');",
    loader: 'js',
  }));
}

module.exports = { undiciTrim };
