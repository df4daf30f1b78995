// S6–S11: one version's contract (tables, columns, NOT NULL, constraints, types, enums) against the live schema.
import type { SchemaContract } from './contract';
import type { Finding, SeverityPolicy, VersionContract } from './finding';
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
