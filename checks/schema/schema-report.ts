// The schema check's report: its findings as assertions, details and one message.
import { redactText } from '../../lib/redact';
import type { Assertion, CheckReport } from '../types';
import type { StatementsResult } from './check-statements';
import type { DbSession } from './connection';
import type { Finding, VersionContract } from './finding';
import type { VersionLoad } from './load-version';
import type { LiveSchema } from './model';

export interface ReportInput {
  live: LiveSchema;
  session: DbSession;
  target: string;
  findings: Finding[];
  versions: VersionLoad[];
  checked: VersionContract[];
  skipped: string[];
  assertions: Assertion[];
  statements: StatementsResult | undefined;
  ms: number;
}

/** Any failure fails the check and leads the message; warnings and versions not checked are appended to it. */
export function schemaReport({
  live,
  session,
  target,
  findings,
  versions,
  checked,
  skipped,
  assertions,
  statements,
  ms,
}: ReportInput): CheckReport {
  const failures = findings.filter((f) => f.severity === 'failure');
  const warnings = findings.filter((f) => f.severity === 'warning');
  for (const f of failures) {
    assertions.push({
      what: `${f.rule} ${f.version === 'both' ? 'blue and green' : f.version}: ${f.subject}`,
      expected: f.expected,
      actual: f.actual,
      ok: false,
    });
  }
  // Statement findings are counted in their own assertion, not against blue's contract.
  const fromStatements = new Set(statements?.findings);
  for (const { version, contract } of checked) {
    const mine = failures.filter(
      (f) => !fromStatements.has(f) && (f.version === version || f.version === 'both'),
    ).length;
    const columns =
      Object.values(contract.reads).flat().length + Object.values(contract.writes).flat().length;
    assertions.push({
      what: `${version}'s contract against ${live.database}`,
      expected: 'compatible',
      actual: mine ? `${mine} problem${mine === 1 ? '' : 's'}` : `compatible (${columns} column uses)`,
      ok: mine === 0,
    });
  }
  const details: Record<string, unknown> = {
    database: target,
    serverVersion: live.serverVersion,
    tables: live.tables.size,
    introspectionQueries: live.queries,
    roundTrips: session.roundTrips,
    contracts: Object.fromEntries(
      versions.map((v) => [
        v.version,
        v.loaded
          ? { from: v.loaded.from, version: v.loaded.contract.version ?? null }
          : { skipped: v.skipped },
      ]),
    ),
    findings: findings.map(({ rule, version, subject, severity, message }) => ({
      rule,
      version,
      subject,
      severity,
      message,
    })),
  };
  if (statements) {
    assertions.push(...statements.assertions);
    details.statements = statements.details;
  }
  if (live.sqlMode !== undefined) details.sqlMode = live.sqlMode;
  if (live.notes.length) details.notes = live.notes;
  const names = [
    ...checked.map((v) => v.version),
    ...(statements
      ? [`${statements.checked} application statement${statements.checked === 1 ? '' : 's'}`]
      : []),
  ].join(' and ');
  const tail = [
    warnings.length
      ? `${warnings.length} warning${warnings.length === 1 ? '' : 's'}: ${warnings[0]!.message}${warnings.length > 1 ? ' ...' : ''}`
      : '',
    ...skipped,
  ].filter(Boolean);
  const suffix = tail.length ? `; ${tail.join('; ')}` : '';
  if (failures.length) {
    const more = failures.length > 1 ? ` (+${failures.length - 1} more)` : '';
    return {
      outcome: 'failed',
      message: redactText(`${failures[0]!.message}${more}${suffix}`),
      assertions,
      details,
    };
  }
  if (checked.length === 0 && statements?.checked === 0) {
    return {
      outcome: 'inconclusive',
      message: redactText(
        `no application statements to check on ${target} (none observed since the statistics were reset, or none recorded), and no contract${suffix}`,
      ),
      assertions,
      details,
    };
  }
  return {
    outcome: 'passed',
    message: redactText(
      `${target} serves ${names}: ${live.tables.size} tables read in ${live.queries} queries (${ms} ms)${suffix}`,
    ),
    assertions,
    details,
  };
}
