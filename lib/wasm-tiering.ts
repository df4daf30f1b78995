import { setFlagsFromString } from 'node:v8';

let applied = false;

/**
 * Keeps WebAssembly in V8's baseline compiler (Liftoff) for the rest of the process.
 *
 * undici parses HTTP/1.1 with llhttp compiled to WebAssembly, and the parser is one very large
 * function. Once a hook has read a few MiB of answers, V8 recompiles that function with its
 * optimizing compiler on a background thread, and on Node 20 that compilation briefly holds
 * 25–35 MiB: a quarter of a 128 MB function, while the bodies being read take the most
 * (`npm run bench -- verdict` measures the hook with this in place). A check's answers give the
 * parser little to do (a status line and headers; a body is skipped over by length), so the
 * baseline code costs little time.
 *
 * The flag is read when a WebAssembly module is compiled, so this must run before the first
 * request (undici compiles llhttp on its first connection). llhttp is the only WebAssembly a
 * hook runs.
 */
export function keepWasmBaseline(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--liftoff-only');
}
