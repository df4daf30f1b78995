import type { Outcome } from './types';

type Tone = 'good' | 'bad' | 'warn' | 'dim' | 'bold';

const SGR: Record<Tone, [string, string]> = {
  good: ['\x1b[32m', '\x1b[39m'],
  bad: ['\x1b[31m', '\x1b[39m'],
  warn: ['\x1b[33m', '\x1b[39m'],
  dim: ['\x1b[2m', '\x1b[22m'],
  bold: ['\x1b[1m', '\x1b[22m'],
};

/** The streams a command writes to (a CommandIO is one). */
export interface TerminalIO {
  stdout: { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

/** How a command writes to this terminal: live and coloured on a TTY, plain otherwise. */
export interface TerminalStyle {
  /** Live progress (cursor movement) is allowed. */
  live: boolean;
  color: boolean;
  /** Terminal width, when known. */
  columns?: number;
  paint(tone: Tone, text: string): string;
  /** The outcome's mark and word, coloured when colour is on. */
  outcome(outcome: Outcome): string;
}

const MARK: Record<Outcome, { tty: string; tone: Tone }> = {
  passed: { tty: '✓', tone: 'good' },
  failed: { tty: '✗', tone: 'bad' },
  error: { tty: '!', tone: 'bad' },
  inconclusive: { tty: '?', tone: 'warn' },
};

/**
 * TTY: live progress, colour and marks. Not a TTY, or `NO_COLOR` set (https://no-color.org):
 * plain text that reads well in a CI log. `FORCE_COLOR` is not honoured on purpose: the plain
 * form is what log parsers and golden files expect.
 */
export function terminalStyle(io: TerminalIO): TerminalStyle {
  const tty = io.stdout.isTTY === true;
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '';
  const fancy = tty && !noColor;
  const paint = (tone: Tone, text: string) => (fancy ? `${SGR[tone][0]}${text}${SGR[tone][1]}` : text);
  const style: TerminalStyle = {
    live: fancy,
    color: fancy,
    paint,
    outcome: (outcome) => (fancy ? paint(MARK[outcome].tone, `${MARK[outcome].tty} ${outcome}`) : outcome),
  };
  if (tty && io.stdout.columns) style.columns = io.stdout.columns;
  return style;
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** Visible width of text that may hold colour codes (the marks used here are one column wide). */
export function visibleWidth(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** `12 ms`, `1.2 s`, `2 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1_000)} s`;
}
