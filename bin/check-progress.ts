import type { CheckResult } from '../checks/types';
import { formatDuration, type TerminalStyle } from '../checks/terminal-style';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 100;

/** Live per-check progress on a TTY; erased once the run ends, so the table that follows stands alone. */
export interface CheckProgress {
  start(name: string): void;
  finish(result: CheckResult): void;
  /** Stops redrawing and erases the block. */
  stop(): void;
}

type Row =
  { state: 'waiting' } | { state: 'running'; since: number } | { state: 'done'; result: CheckResult };

/**
 * Draws one line per check, in configured order: waiting, running (with a spinner and the time
 * so far) or its outcome. It only moves the cursor within its own block: up, clear, rewrite.
 */
export function createCheckProgress(
  stream: NodeJS.WritableStream,
  names: readonly string[],
  style: TerminalStyle,
  clock: () => number = () => performance.now(),
): CheckProgress {
  const rows = new Map<string, Row>(names.map((n) => [n, { state: 'waiting' }]));
  const width = Math.max(...names.map((n) => n.length));
  let drawn = 0;
  let frame = 0;

  const line = (name: string, row: Row): string => {
    const label = name.padEnd(width);
    if (row.state === 'waiting')
      return `${style.paint('dim', '·')} ${label}  ${style.paint('dim', 'waiting')}`;
    if (row.state === 'running') {
      return `${style.paint('warn', SPINNER[frame % SPINNER.length]!)} ${label}  running ${style.paint('dim', formatDuration(clock() - row.since))}`;
    }
    return `${style.outcome(row.result.outcome)} ${label}  ${style.paint('dim', formatDuration(row.result.durationMs))}`;
  };

  const draw = () => {
    let out = drawn ? `\x1b[${drawn}A` : '';
    for (const [name, row] of rows) out += `\r\x1b[2K${line(name, row)}\n`;
    drawn = rows.size;
    stream.write(out);
  };

  const timer = setInterval(() => {
    frame++;
    draw();
  }, FRAME_MS);
  timer.unref();
  draw();

  return {
    start(name) {
      rows.set(name, { state: 'running', since: clock() });
      draw();
    },
    finish(result) {
      rows.set(result.name, { state: 'done', result });
      draw();
    },
    stop() {
      clearInterval(timer);
      if (drawn) stream.write(`\x1b[${drawn}A\r\x1b[J`);
      drawn = 0;
    },
  };
}
