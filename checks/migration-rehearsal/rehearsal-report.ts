// The migration-rehearsal check's report: each finding as evidence with its fix, and one message.
import { redactText } from '../../lib/redact';
import type { Assertion, CheckReport } from '../types';
import type { RehearsalTool } from '../schema/migration-files';
import type { RehearsalFinding, RehearsalResult } from '../schema/rehearse-migration';

const EXPECTED: Record<RehearsalFinding['kind'], string> = {
  migration: 'applies on a copy of the live schema',
  statement: 'still prepares after the migrations',
  lock: 'no long lock on a large table',
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export interface ReportContext {
  /** The live database, as `describeConnection` names it. */
  target: string;
  tool: RehearsalTool;
  /** The migrations' folder or `s3://bucket/prefix/`. */
  migrations: string;
  /** Whether a lock rule that fires fails the check. */
  locks: 'fail' | 'warn';
}

/**
 * Failed when a migration does not apply, a blue statement breaks, or (unless `locks: warn`) a
 * lock rule fires; inconclusive when the live schema moved during the run; passed otherwise.
 */
export function rehearsalReport(result: RehearsalResult, ctx: ReportContext): CheckReport {
  const severity = (f: RehearsalFinding) =>
    f.kind === 'lock' && ctx.locks === 'warn' ? 'warning' : 'failure';
  const failures = result.findings.filter((f) => severity(f) === 'failure');
  const warnings = result.findings.filter((f) => severity(f) === 'warning');
  const withFix = (f: RehearsalFinding) => (f.fix ? `${f.message}; fix: ${f.fix}` : f.message);

  const assertions: Assertion[] = failures.map((f) => ({
    what: `${f.rule}: ${f.subject}`,
    expected: EXPECTED[f.kind],
    actual: withFix(f),
    ok: false,
  }));
  const s = result.statements;
  if (s.checked || Object.keys(s.notChecked).length)
    assertions.push({
      what: 'blue’s statements after the migrations',
      expected: 'prepare',
      actual: `${s.checked} checked, ${s.prepared} prepared`,
      ok: s.checked === s.prepared,
    });
  assertions.push({
    what: 'live schema unchanged (DDL sha256)',
    expected: result.live.digestBefore.slice(0, 16),
    actual: result.live.digestAfter.slice(0, 16),
    ok: result.live.unchanged,
  });

  const pending = result.pending.length
    ? `${plural(result.pending.length, `pending ${ctx.tool} migration`)} (${result.pending.join(', ')})`
    : `no pending ${ctx.tool} migration`;
  const details: Record<string, unknown> = {
    database: ctx.target,
    migrations: ctx.migrations,
    tool: ctx.tool,
    pending: result.pending,
    alreadyApplied: result.alreadyApplied,
    findings: result.findings.map((f) => ({ ...f, severity: severity(f) })),
    statements: result.statements,
    gaps: result.gaps.slice(0, 20),
    live: result.live,
    ms: result.ms,
  };
  const warned = warnings.length
    ? `; ${plural(warnings.length, 'warning')}: ${withFix(warnings[0]!)}${warnings.length > 1 ? ' ...' : ''}`
    : '';
  if (failures.length) {
    const more = failures.length > 1 ? ` (+${failures.length - 1} more)` : '';
    return {
      outcome: 'failed',
      message: redactText(`${withFix(failures[0]!)}${more}${warned}`),
      assertions,
      details,
    };
  }
  if (!result.live.unchanged) {
    return {
      outcome: 'inconclusive',
      message: redactText(
        `the live schema of ${ctx.target} changed during the rehearsal (another session altered it): the copy no longer matches; rehearse again`,
      ),
      assertions,
      details,
    };
  }
  const statements = s.checked ? `, ${s.prepared} of blue’s statements still prepare` : '';
  const applied = result.pending.length
    ? `${pending} ${result.pending.length === 1 ? 'applies' : 'apply'} on a copy of ${ctx.target} (${plural(result.live.tables, 'table')}, shadow built in ${result.ms.shadow} ms)${statements}${warnings.length ? '' : ', no lock rule fired'}`
    : `${pending} in ${ctx.migrations}: the live database ${ctx.target} has all ${result.alreadyApplied}; nothing to rehearse`;
  return {
    outcome: 'passed',
    message: redactText(`${applied}${warned}`),
    assertions,
    details,
  };
}
