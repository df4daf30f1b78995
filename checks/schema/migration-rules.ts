// S3, S4 and S13: the migration history and online schema changes in flight, against both versions.
import type { Finding, SeverityPolicy, VersionContract } from './finding';
import { isApplied, type MigrationHistory } from './migrations';
import type { LiveSchema } from './model';

/**
 * S3 and S4 over the migration history: failed or dirty rows break everyone; each version's
 * required migrations must be applied; migrations a version does not know must be `expand`
 * (their phase taken from whichever contract knows them).
 */
export function evaluateMigrations(
  history: MigrationHistory,
  versions: readonly VersionContract[],
  policy: SeverityPolicy,
): Finding[] {
  const findings: Finding[] = [];
  const anyRequired = versions.some((v) => (v.contract.migrations?.required.length ?? 0) > 0);
  if (!history.found) {
    if (anyRequired) {
      findings.push({
        rule: 'S3',
        version: versions.find((v) => v.contract.migrations?.required.length)!.version,
        subject: `migration table ${history.table}`,
        severity: 'failure',
        expected: 'present',
        actual: 'missing',
        message: `the ${history.tool} history table ${history.table} is missing, so no required migration can be confirmed`,
      });
    }
    return findings;
  }
  for (const m of history.applied) {
    if (!m.failed && !m.dirty) continue;
    const state = m.dirty ? 'dirty (half-applied)' : 'failed';
    findings.push({
      rule: 'S3',
      version: 'both',
      subject: `migration ${m.id}`,
      severity: 'failure',
      expected: 'applied',
      actual: m.dirty ? 'dirty' : 'failed',
      message: `migration ${m.id} is ${state} in ${history.table}: the schema is in a state neither version was built for`,
    });
  }
  for (const { version, contract } of versions) {
    for (const id of contract.migrations?.required ?? []) {
      if (isApplied(history, id)) continue;
      findings.push({
        rule: 'S3',
        version,
        subject: `migration ${id}`,
        severity: 'failure',
        expected: 'applied',
        actual: history.applied.some((m) => m.id === id) ? 'failed' : 'not applied',
        message: `${version} requires migration ${id}, which is not applied: ${version} would run against a schema it does not expect`,
      });
    }
  }
  for (const { version, contract } of versions) {
    const known = contract.migrations?.known;
    if (!known) continue;
    const others = versions.filter((v) => v.version !== version);
    for (const m of history.applied) {
      if (m.id in known || m.failed) continue;
      const source = others.find((o) => o.contract.migrations?.known?.[m.id] !== undefined);
      const phase = source?.contract.migrations?.known?.[m.id];
      if (phase === 'expand') continue;
      if (phase === 'contract') {
        findings.push({
          rule: 'S4',
          version,
          subject: `migration ${m.id}`,
          severity: 'failure',
          expected: 'expand',
          actual: 'contract',
          message: `contract migration ${m.id} (per ${source!.version}'s contract) is applied while ${version} is live: it removes or tightens what ${version} still uses`,
        });
      } else {
        findings.push({
          rule: 'S4',
          version,
          subject: `migration ${m.id}`,
          severity: policy.unknownMigrations,
          expected: 'a known phase',
          actual: 'unknown to every contract',
          message: `migration ${m.id} is applied but no contract knows it, so nothing says it is safe while ${version} is live`,
        });
      }
    }
  }
  return findings;
}

/** S13: online schema changes caught half-way. */
export function evaluateInFlight(live: LiveSchema, policy: SeverityPolicy): Finding[] {
  return live.inFlight.map((change) => ({
    rule: 'S13' as const,
    version: 'both' as const,
    subject: change.subject,
    severity: policy.inFlight,
    expected: 'no schema change in flight',
    actual: change.tool,
    message: change.detail,
  }));
}
