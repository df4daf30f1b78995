import { Writable } from 'node:stream';
import type { CommandIO } from '../../bin/command';

/** A CommandIO whose streams keep what was written; `tty` makes stdout look like a terminal. */
export function cliIO(
  options: { tty?: boolean; columns?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
) {
  const sink = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }) as Writable & { isTTY?: boolean; columns?: number; text(): string };
    stream.text = () => chunks.join('');
    return stream;
  };
  const stdout = sink();
  const stderr = sink();
  if (options.tty) {
    stdout.isTTY = true;
    stdout.columns = options.columns ?? 100;
  }
  const io: CommandIO = { stdout, stderr, env: options.env ?? {}, cwd: options.cwd ?? process.cwd() };
  return { io, stdout: () => stdout.text(), stderr: () => stderr.text() };
}

/**
 * What a terminal shows after `text` was written to it: cursor-up, carriage return, erase line
 * and erase-below are applied; colour codes are kept, so a golden file pins them too.
 */
export function finalScreen(text: string): string {
  const lines: string[] = [''];
  let row = 0;
  const tokens = text.split(/(\x1b\[[0-9;?]*[A-Za-z]|\r|\n)/);
  for (const token of tokens) {
    if (!token) continue;
    if (token === '\n') {
      row++;
      if (lines[row] === undefined) lines[row] = '';
    } else if (token === '\r') {
      // every redraw erases the whole line right after \r
    } else if (/^\x1b\[\d*A$/.test(token)) {
      row = Math.max(0, row - Number(token.slice(2, -1) || 1));
    } else if (token === '\x1b[2K') {
      lines[row] = '';
    } else if (token === '\x1b[J') {
      lines[row] = '';
      lines.length = row + 1;
    } else {
      lines[row] = (lines[row] ?? '') + token;
    }
  }
  return lines.join('\n');
}

/**
 * Ports and deployment ids differ per run; so do timings, unless the test froze the clock (then
 * keep them, and the golden file pins the column alignment too).
 */
export function normalise(text: string, options: { durations?: boolean } = {}): string {
  let out = text.replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>').replace(/\bd-[0-9A-F]{9}\b/g, 'd-<id>');
  if (options.durations !== false) out = out.replace(/(?<![\d.])\d+(\.\d+)? (ms|s)\b/g, '<duration>');
  return out;
}
