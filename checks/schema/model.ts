import type { TypeFamily } from './contract';

export type Engine = 'postgres' | 'mysql';

export const ENGINE_NAMES: Record<Engine, string> = { postgres: 'PostgreSQL', mysql: 'MySQL' };

/** A column as the live database has it. */
export interface LiveColumn {
  name: string;
  /** As the engine prints it: `character varying(255)`, `bigint`, `enum('a','b')`. */
  type: string;
  family: TypeFamily;
  notNull: boolean;
  hasDefault: boolean;
  /** A computed column: it cannot be written. */
  generated: boolean;
  /** Filled by the database (identity, serial, auto_increment); `always` rejects explicit values. */
  identity: 'always' | 'by-default' | null;
  /** Whether an INSERT/UPDATE may name it (false for generated columns and non-updatable view columns). */
  writable: boolean;
  /** PostgreSQL: the domain the column is declared with, and the type beneath it (through any domains over domains). */
  domain?: string;
  baseType?: string;
  /** The values of an enum column (a PostgreSQL enum type or a MySQL ENUM). */
  enumValues?: string[];
  /** The enum type's name, when it has one (PostgreSQL). */
  enumType?: string;
}

export type ConstraintKind = 'check' | 'foreign-key' | 'unique' | 'primary-key' | 'exclusion';

export interface LiveConstraint {
  name: string;
  kind: ConstraintKind;
  columns: string[];
  /** False for a PostgreSQL constraint added NOT VALID: old rows unchecked, new rows checked. */
  validated: boolean;
  definition?: string;
}

export type RelationKind = 'table' | 'view' | 'materialized view' | 'foreign table';

export interface LiveTable {
  schema: string;
  name: string;
  kind: RelationKind;
  columns: Map<string, LiveColumn>;
  constraints: LiveConstraint[];
}

/** A schema change caught half-way: an online-migration tool's shadow table, a running ALTER, an open pgroll migration. */
export interface InFlightChange {
  tool: 'gh-ost' | 'pt-online-schema-change' | 'pgroll' | 'ddl';
  subject: string;
  detail: string;
}

/** What introspection found, in a shape both engines share. */
export interface LiveSchema {
  engine: Engine;
  serverVersion: string;
  /** The database (PostgreSQL) or schema (MySQL) connected to. */
  database: string;
  /** The schemas that were read; unqualified names resolve in the first. */
  schemas: string[];
  /** Keyed by `schema.table` (lower-cased when the server compares table names case-insensitively). */
  tables: Map<string, LiveTable>;
  /** MySQL compares column names case-insensitively and, with lower_case_table_names > 0, table names. */
  caseInsensitiveTables: boolean;
  caseInsensitiveColumns: boolean;
  /** False when MySQL's sql_mode is not strict: a missing NOT NULL value becomes an implicit default. */
  strictWrites: boolean;
  sqlMode?: string;
  inFlight: InFlightChange[];
  /** Things the introspection could not see (e.g. other sessions' queries without the privilege). */
  notes: string[];
  /** Round trips the introspection took. */
  queries: number;
}

export function tableKey(
  live: Pick<LiveSchema, 'caseInsensitiveTables'>,
  schema: string,
  name: string,
): string {
  const key = `${schema}.${name}`;
  return live.caseInsensitiveTables ? key.toLowerCase() : key;
}

export function columnKey(live: Pick<LiveSchema, 'caseInsensitiveColumns'>, name: string): string {
  return live.caseInsensitiveColumns ? name.toLowerCase() : name;
}

/** Splits `table` / `schema.table` and finds it; `defaultSchema` applies to an unqualified name. */
export function findTable(live: LiveSchema, ref: string, defaultSchema: string): LiveTable | undefined {
  const dot = ref.indexOf('.');
  const [schema, name] = dot === -1 ? [defaultSchema, ref] : [ref.slice(0, dot), ref.slice(dot + 1)];
  return live.tables.get(tableKey(live, schema, name));
}

export function findColumn(live: LiveSchema, table: LiveTable, name: string): LiveColumn | undefined {
  return table.columns.get(columnKey(live, name));
}

const FAMILY_BY_TYPE: Record<string, TypeFamily> = {};
function family(name: TypeFamily, ...types: string[]): void {
  for (const t of types) FAMILY_BY_TYPE[t] = name;
}
family(
  'integer',
  'smallint',
  'integer',
  'bigint',
  'int',
  'int2',
  'int4',
  'int8',
  'tinyint',
  'mediumint',
  'serial',
  'bigserial',
  'smallserial',
  'year',
);
family('decimal', 'numeric', 'decimal', 'money');
family('float', 'real', 'double precision', 'float4', 'float8', 'double', 'float');
family(
  'text',
  'text',
  'character varying',
  'varchar',
  'character',
  'char',
  'bpchar',
  'citext',
  'name',
  'tinytext',
  'mediumtext',
  'longtext',
  'set',
);
family('boolean', 'boolean', 'bool');
family(
  'timestamp',
  'timestamp without time zone',
  'timestamp with time zone',
  'timestamp',
  'timestamptz',
  'datetime',
);
family('date', 'date');
family('time', 'time without time zone', 'time with time zone', 'time', 'timetz');
family('interval', 'interval');
family('uuid', 'uuid');
family('json', 'json', 'jsonb');
family(
  'binary',
  'bytea',
  'blob',
  'tinyblob',
  'mediumblob',
  'longblob',
  'binary',
  'varbinary',
  'bit',
  'bit varying',
  'varbit',
);

/** `character varying(255)` → `character varying`; `int(11) unsigned` → `int`; `timestamp(3) with time zone` → `timestamp with time zone`. */
export function baseTypeName(type: string): string {
  return type
    .toLowerCase()
    .replace(/\([^)]*\)/g, '')
    .replace(/\b(unsigned|signed|zerofill)\b/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The family a live type belongs to; enum and array detection is the engine's (it knows the catalog). */
export function typeFamily(type: string): TypeFamily {
  const lower = type.toLowerCase().trim();
  if (lower.endsWith('[]')) return 'array';
  if (lower.startsWith('enum(')) return 'enum';
  // MySQL's BOOLEAN is stored as tinyint(1).
  if (/^tinyint\(1\)/.test(lower)) return 'boolean';
  return FAMILY_BY_TYPE[baseTypeName(lower)] ?? 'other';
}

const normalType = (type: string) => type.toLowerCase().replace(/\s+/g, ' ').trim();

/**
 * Whether a column's live type is among the accepted entries (family names or exact types). A
 * domain is accepted by its own name and by its base type's, as drivers only see the base type.
 */
export function typeAccepted(column: LiveColumn, accepted: readonly string[]): boolean {
  const names = new Set<string>();
  for (const type of [column.type, column.baseType]) {
    if (type === undefined) continue;
    names.add(normalType(type));
    names.add(baseTypeName(type));
  }
  for (const name of [column.domain, column.enumType]) if (name !== undefined) names.add(normalType(name));
  return accepted.some((entry) => {
    const want = normalType(entry);
    return want === column.family || names.has(want);
  });
}

/** `region_code, a domain over character varying(20)`, or the type as the engine prints it. */
export function describeType(column: LiveColumn): string {
  return column.domain !== undefined && column.baseType !== undefined
    ? `${column.domain}, a domain over ${column.baseType}`
    : column.type;
}

/** `enum('a','it''s')` → `['a', "it's"]`. */
export function parseMysqlEnum(columnType: string): string[] | undefined {
  const match = /^(?:enum|set)\((.*)\)$/is.exec(columnType.trim());
  if (!match) return undefined;
  const values: string[] = [];
  const re = /'((?:[^'\\]|''|\\.)*)'/g;
  for (const m of match[1]!.matchAll(re)) values.push(m[1]!.replace(/''/g, "'").replace(/\\(.)/g, '$1'));
  return values;
}

/** gh-ost (`_t_gho`, `_t_ghc`) and pt-online-schema-change (`_t_new`) shadow tables whose original still exists. */
export function shadowTables(tables: Iterable<LiveTable>, caseInsensitive: boolean): InFlightChange[] {
  const all = [...tables];
  const norm = (s: string) => (caseInsensitive ? s.toLowerCase() : s);
  const names = new Set(all.map((t) => norm(`${t.schema}.${t.name}`)));
  const found: InFlightChange[] = [];
  for (const t of all) {
    const m = /^_+(.+)_(gho|ghc|new)$/.exec(t.name);
    if (!m || !names.has(norm(`${t.schema}.${m[1]}`))) continue;
    const tool = m[2] === 'new' ? 'pt-online-schema-change' : 'gh-ost';
    const role = m[2] === 'ghc' ? 'changelog' : 'shadow';
    found.push({
      tool,
      subject: `${t.schema}.${m[1]}`,
      detail: `${tool} ${role} table ${t.name} exists beside ${m[1]}: an online ALTER of ${m[1]} is in flight and its cut-over may land mid-shift`,
    });
  }
  return found;
}
