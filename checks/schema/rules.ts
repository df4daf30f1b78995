import type { SchemaContract } from './contract';
import { isApplied, type MigrationHistory } from './migrations';
import {
  describeType,
  findColumn,
  findTable,
  typeAccepted,
  type LiveColumn,
  type LiveConstraint,
  type LiveSchema,
  type LiveTable,
} from './model';

export type Version = 'blue' | 'green';
export type Severity = 'failure' | 'warning';

/** One piece of evidence against (or a caution about) a version's contract. */
export interface Finding {
  /** The reference's check id: S3, S4, S6 ... S13; S14 an application statement that no longer prepares. */
  rule: 'S3' | 'S4' | 'S6' | 'S7' | 'S8' | 'S9' | 'S10' | 'S11' | 'S13' | 'S14';
  /** Which version it breaks; both when the database itself is broken (a failed migration). */
  version: Version | 'both';
  /** `users.nickname`, `migration V3__drop_name`, ... */
  subject: string;
  severity: Severity;
  expected: unknown;
  actual: unknown;
  /** A sentence: what, which version, how, and why it matters. */
  message: string;
}

/** How strictly findings that do not always break a version count. */
export interface SeverityPolicy {
  /** New or NOT VALID constraints on columns a version writes. */
  constraints: Severity;
  /** Online schema changes in flight (shadow tables, running ALTERs, open pgroll migrations). */
  inFlight: Severity;
  /** Applied migrations that no contract gives a phase. */
  unknownMigrations: Severity;
}

export interface VersionContract {
  version: Version;
  contract: SchemaContract;
}

/** Unqualified names resolve in the contract's first schema, else the first schema read. */
function defaultSchema(live: LiveSchema, contract: SchemaContract): string {
  return live.engine === 'mysql' ? live.database : (contract.schemas?.[0] ?? live.schemas[0] ?? 'public');
}

function splitColumnRef(ref: string): { table: string; column: string } {
  const at = ref.lastIndexOf('.');
  return { table: ref.slice(0, at), column: ref.slice(at + 1) };
}

const KIND_LABEL: Record<LiveConstraint['kind'], string> = {
  check: 'CHECK',
  'foreign-key': 'FOREIGN KEY',
  unique: 'UNIQUE',
  'primary-key': 'PRIMARY KEY',
  exclusion: 'EXCLUDE',
};

/** A `CHECK (col IS NOT NULL)`: how PostgreSQL teams add NOT NULL without a long lock (NOT VALID, then VALIDATE). */
function notNullCheckColumn(constraint: LiveConstraint): string | undefined {
  if (constraint.kind !== 'check' || constraint.columns.length !== 1) return undefined;
  return /^CHECK\s*\(+\s*"?[^"\s()]+"?\s+IS\s+NOT\s+NULL\s*\)+/i.test(constraint.definition ?? '')
    ? constraint.columns[0]
    : undefined;
}

/**
 * S6–S11 for one version: its tables and columns exist (views satisfy reads only unless the
 * engine says the column is updatable), every NOT NULL column without a default is written,
 * new or NOT VALID constraints on written columns are reported, accepted types and enum values
 * still hold.
 */
export function evaluateContract(
  live: LiveSchema,
  { version, contract }: VersionContract,
  policy: SeverityPolicy,
): Finding[] {
  const findings: Finding[] = [];
  const schema = defaultSchema(live, contract);
  const add = (f: Finding) => findings.push(f);
  const tableNames = new Set([...Object.keys(contract.reads), ...Object.keys(contract.writes)]);
  const resolved = new Map<string, LiveTable>();

  for (const ref of tableNames) {
    const table = findTable(live, ref, schema);
    if (!table) {
      const how = [ref in contract.reads ? 'reads' : '', ref in contract.writes ? 'writes' : '']
        .filter(Boolean)
        .join(' and ');
      add({
        rule: 'S6',
        version,
        subject: ref,
        severity: 'failure',
        expected: 'present',
        actual: 'missing',
        message: `${version} ${how} table ${ref}, which is missing (dropped or renamed): every ${version} query on it will fail`,
      });
    } else {
      resolved.set(ref, table);
    }
  }

  for (const [ref, columns] of Object.entries(contract.reads)) {
    const table = resolved.get(ref);
    if (!table) continue;
    for (const name of columns) {
      if (findColumn(live, table, name)) continue;
      add({
        rule: 'S7',
        version,
        subject: `${ref}.${name}`,
        severity: 'failure',
        expected: 'present',
        actual: 'missing',
        message: `${version} reads ${ref}.${name}, which is missing (dropped or renamed): ${version}'s SELECTs that name it will fail`,
      });
    }
  }

  for (const [ref, columns] of Object.entries(contract.writes)) {
    const table = resolved.get(ref);
    if (!table) continue;
    const written = new Set(columns.map((c) => (live.caseInsensitiveColumns ? c.toLowerCase() : c)));
    for (const name of columns) {
      const column = findColumn(live, table, name);
      const subject = `${ref}.${name}`;
      if (!column) {
        add({
          rule: 'S7',
          version,
          subject,
          severity: 'failure',
          expected: 'present',
          actual: 'missing',
          message: `${version} writes ${subject}, which is missing (dropped or renamed): ${version}'s INSERTs and UPDATEs that name it will fail`,
        });
      } else if (!column.writable || column.identity === 'always') {
        add({
          rule: 'S7',
          version,
          subject,
          severity: 'failure',
          expected: 'writable',
          actual: whyNotWritable(table, column),
          message: `${version} writes ${subject}, but ${whyNotWritable(table, column)}: ${version}'s writes to it will fail`,
        });
      }
    }
    if (table.kind !== 'table') continue;

    // S8: an INSERT that leaves out a NOT NULL column without a default is rejected.
    const notNullChecks = new Map<string, LiveConstraint>();
    for (const c of table.constraints) {
      const col = notNullCheckColumn(c);
      if (col) notNullChecks.set(col, c);
    }
    for (const column of table.columns.values()) {
      const key = live.caseInsensitiveColumns ? column.name.toLowerCase() : column.name;
      if (written.has(key) || column.hasDefault || column.generated || column.identity) continue;
      const viaCheck = notNullChecks.get(column.name);
      if (!column.notNull && !viaCheck) continue;
      const subject = `${ref}.${column.name}`;
      const rule = viaCheck
        ? `a ${viaCheck.name} CHECK (${column.name} IS NOT NULL)${viaCheck.validated ? '' : ' NOT VALID'}`
        : 'NOT NULL with no default';
      if (live.engine === 'mysql' && !live.strictWrites) {
        add({
          rule: 'S8',
          version,
          subject,
          severity: 'warning',
          expected: `written by ${version} or has a default`,
          actual: 'NOT NULL, no default, not written',
          message: `${version} writes ${ref} without ${column.name}, which is NOT NULL with no default: sql_mode "${live.sqlMode}" is not strict, so MySQL stores an implicit default (0 or '') instead of rejecting ${version}'s INSERTs`,
        });
      } else {
        add({
          rule: 'S8',
          version,
          subject,
          severity: 'failure',
          expected: `written by ${version} or has a default`,
          actual: viaCheck
            ? 'CHECK IS NOT NULL, no default, not written'
            : 'NOT NULL, no default, not written',
          message: `${version} writes ${ref} without ${column.name}, which has ${rule}: ${version}'s INSERTs will fail${live.engine === 'mysql' ? ' (sql_mode is strict)' : ''}`,
        });
      }
    }

    // S9: constraints on written columns that this version may not know about.
    const known = contract.constraints?.[ref];
    for (const c of table.constraints) {
      if (notNullCheckColumn(c)) continue; // a NOT NULL in CHECK form is S8's business
      const touched = c.columns.filter((col) =>
        written.has(live.caseInsensitiveColumns ? col.toLowerCase() : col),
      );
      if (touched.length === 0 || c.kind === 'primary-key') continue;
      const unknown = known !== undefined && !known.includes(c.name);
      if (c.validated && !unknown) continue;
      const cols = touched.map((col) => `${ref}.${col}`).join(', ');
      const what = `${KIND_LABEL[c.kind]} ${c.name}${c.definition ? ` ${c.definition}` : ''}`;
      const why = !c.validated
        ? `was added NOT VALID: old rows were not checked, but ${version}'s new and updated rows are`
        : `is not in ${version}'s contract: it was added after ${version} was built`;
      add({
        rule: 'S9',
        version,
        subject: `constraint ${c.name}`,
        severity: policy.constraints,
        expected: unknown ? `constraints known to ${version}` : 'validated',
        actual: c.validated ? 'unknown to this version' : 'NOT VALID',
        message: `${what} on ${cols}, which ${version} writes, ${why}: ${version}'s writes that break it will be rejected`,
      });
    }
  }

  // S10: a column's type left the families this version accepts.
  for (const [ref, accepted] of Object.entries(contract.types)) {
    const { table: tableRef, column: name } = splitColumnRef(ref);
    const table = resolved.get(tableRef) ?? findTable(live, tableRef, schema);
    const column = table && findColumn(live, table, name);
    if (!column) {
      const reported =
        tableNames.has(tableRef) &&
        (!table || contract.reads[tableRef]?.includes(name) || contract.writes[tableRef]?.includes(name));
      if (!reported) {
        add({
          rule: 'S10',
          version,
          subject: ref,
          severity: 'failure',
          expected: accepted.join(' | '),
          actual: 'missing',
          message: `${version} expects ${ref} as ${accepted.join(' or ')}, but the column is missing`,
        });
      }
      continue;
    }
    if (typeAccepted(column, accepted)) continue;
    add({
      rule: 'S10',
      version,
      subject: ref,
      severity: 'failure',
      expected: accepted.join(' | '),
      actual: column.type,
      message: `${version} expects ${ref} as ${accepted.join(' or ')}, but it is ${describeType(column)} (${column.family}): ${version}'s reads and writes of it may fail or be misread`,
    });
  }

  // S11: enum values this version writes must still exist.
  for (const [ref, values] of Object.entries(contract.enums)) {
    const { table: tableRef, column: name } = splitColumnRef(ref);
    const table = resolved.get(tableRef) ?? findTable(live, tableRef, schema);
    const column = table && findColumn(live, table, name);
    if (!column) {
      if (
        tableNames.has(tableRef) &&
        (!table || contract.writes[tableRef]?.includes(name) || contract.reads[tableRef]?.includes(name))
      )
        continue;
      add({
        rule: 'S11',
        version,
        subject: ref,
        severity: 'failure',
        expected: values,
        actual: 'missing',
        message: `${version} writes enum values into ${ref}, which is missing`,
      });
      continue;
    }
    if (!column.enumValues) continue; // no longer an enum (e.g. widened to text): every value is accepted
    const gone = values.filter((v) => !column.enumValues!.includes(v));
    if (gone.length === 0) continue;
    const type = column.enumType ? `the enum ${column.enumType}` : 'its ENUM';
    add({
      rule: 'S11',
      version,
      subject: ref,
      severity: 'failure',
      expected: values,
      actual: column.enumValues,
      message: `${version} writes ${gone.map((v) => `'${v}'`).join(', ')} into ${ref}, which ${type} no longer has: ${version}'s writes with ${gone.length === 1 ? 'it' : 'them'} will fail`,
    });
  }
  return findings;
}

function whyNotWritable(table: LiveTable, column: LiveColumn): string {
  if (column.generated) return `${table.name}.${column.name} is a generated column`;
  if (column.identity === 'always') return `${table.name}.${column.name} is GENERATED ALWAYS AS IDENTITY`;
  if (table.kind === 'view')
    return `${table.name} is a view whose column ${column.name} is not updatable (a view shim satisfies reads, not writes)`;
  return `${table.name} is a ${table.kind}`;
}

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
