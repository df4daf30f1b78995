import type { Verdict } from '../checks/runner';
import { evidenceOf } from '../checks/evidence';
import { redactText } from '../lib/redact';
import { formatDuration, visibleWidth, type TerminalStyle } from '../checks/terminal-style';

const HEADER = ['CHECK', 'OUTCOME', 'DURATION', 'EVIDENCE'] as const;
const GAP = '  ';

function truncate(text: string, width: number): string {
  if (width <= 1) return '…';
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

/**
 * The result of one lifecycle event as a table: check, outcome, duration and the first failing
 * assertion (expected vs actual), then each unhappy check's message and the verdict line. On a
 * TTY the evidence column is cut to the terminal width; plain output is never cut.
 */
export function renderCheckTable(hook: string, verdict: Verdict, style: TerminalStyle): string {
  const rows = verdict.checks.map((r) => ({
    cells: [
      r.advisory ? `${r.name} (advisory)` : r.name,
      style.outcome(r.outcome),
      formatDuration(r.durationMs),
      evidenceOf(r),
    ],
    result: r,
  }));
  const widths = [0, 1, 2].map((i) =>
    Math.max(HEADER[i]!.length, ...rows.map((r) => visibleWidth(r.cells[i]!))),
  );
  const pad = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - visibleWidth(text)));
  const lead = widths.reduce((sum, w) => sum + w + GAP.length, 0);
  const evidenceWidth = style.columns ? Math.max(20, style.columns - lead) : Infinity;

  const lines: string[] = [];
  lines.push(
    style.paint('bold', [...HEADER.slice(0, 3).map((h, i) => pad(h, widths[i]!)), HEADER[3]].join(GAP)),
  );
  for (const { cells } of rows) {
    const evidence = Number.isFinite(evidenceWidth) ? truncate(cells[3]!, evidenceWidth) : cells[3]!;
    lines.push(
      [
        pad(cells[0]!, widths[0]!),
        pad(cells[1]!, widths[1]!),
        pad(style.paint('dim', cells[2]!), widths[2]!),
        evidence,
      ]
        .join(GAP)
        .trimEnd(),
    );
  }

  const unhappy = verdict.checks.filter((r) => r.outcome !== 'passed');
  if (unhappy.length) {
    lines.push('');
    for (const r of unhappy) lines.push(`${style.paint('bold', r.name)}: ${redactText(r.message)}`);
  }
  lines.push('');
  lines.push(verdictLine(hook, verdict, style));
  return lines.join('\n') + '\n';
}

/** `AfterAllowTestTraffic: Failed (52 ms): 'smoke' failed: ...`. */
export function verdictLine(
  hook: string,
  verdict: Pick<Verdict, 'status' | 'reason' | 'durationMs'>,
  style: TerminalStyle,
): string {
  const status = style.paint(verdict.status === 'Succeeded' ? 'good' : 'bad', verdict.status);
  return `${hook}: ${style.paint('bold', status)} (${formatDuration(verdict.durationMs)}): ${redactText(verdict.reason)}`;
}
