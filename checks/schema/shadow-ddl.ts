import { createHash } from 'node:crypto';
import type { DbSession } from './connection';

/**
 * The DDL of a live PostgreSQL schema, rebuilt from pg_catalog over a read-only session, for a
 * shadow database to apply. The server writes every fragment itself (format_type, pg_get_expr,
 * pg_get_constraintdef, pg_get_indexdef, pg_get_viewdef, pg_get_functiondef), with every name
 * schema-qualified (the session's search_path is emptied for the read). Objects that belong to
 * an extension, grants, comments, policies and statistics are left out: a migration's DDL and
 * blue's statements resolve without them.
 */

/** The order the statements are applied in; a statement that fails is retried after its phase. */
export type DdlPhase =
  | 'schema'
  | 'extension'
  | 'type'
  | 'function'
  | 'sequence'
  | 'table'
  | 'constraint'
  | 'index'
  | 'view'
  | 'trigger'
  | 'owned';

export interface DdlStatement {
  phase: DdlPhase;
  /** `table public.users`, `index public.users_email_idx`: what a gap in the shadow names. */
  object: string;
  sql: string;
}

/** A table's size on the live server, for the lock rules. */
export interface TableSize {
  /** `public.users` */
  table: string;
  /** pg_class.reltuples; undefined when the table was never vacuumed or analyzed. */
  rows?: number;
  bytes: number;
}

export interface LiveDdl {
  statements: DdlStatement[];
  sizes: Map<string, TableSize>;
  schemas: string[];
  /** SHA-256 of the DDL, in order: equal before and after a rehearsal when nothing changed live. */
  digest: string;
  queries: number;
}

const NOT_EXTENSION_MEMBER = (classid: string, column: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = '${classid}'::pg_catalog.regclass AND d.objid = ${column} AND d.deptype = 'e')`;

const SCHEMAS_SQL = `
SELECT n.nspname AS name FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND ${NOT_EXTENSION_MEMBER('pg_namespace', 'n.oid')}
ORDER BY n.nspname`;

const EXTENSIONS_SQL = `
SELECT e.extname AS name, n.nspname AS schema FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname NOT IN ('plpgsql', 'pg_stat_statements') ORDER BY e.oid`;

const TYPES_SQL = `
SELECT t.oid::int8 AS oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname) AS name, t.typtype AS kind,
  (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) AS labels,
  CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) END AS base,
  t.typnotnull AS not_null, pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS "default",
  (SELECT pg_catalog.string_agg('CONSTRAINT ' || pg_catalog.quote_ident(c.conname) || ' ' || pg_catalog.pg_get_constraintdef(c.oid), ' ' ORDER BY c.conname)
     FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c') AS checks,
  CASE WHEN t.typtype = 'c' THEN (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
     FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END AS fields
FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = ANY($1::text[]) AND ${NOT_EXTENSION_MEMBER('pg_type', 't.oid')}
  AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c'))
ORDER BY t.oid`;

const FUNCTIONS_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) AS name, pg_catalog.pg_get_functiondef(p.oid) AS def
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY($1::text[]) AND p.prokind IN ('f', 'p') AND ${NOT_EXTENSION_MEMBER('pg_proc', 'p.oid')}
ORDER BY p.oid`;

const SEQUENCES_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name, pg_catalog.format_type(s.seqtypid, NULL) AS type,
  s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max, s.seqcache::text AS cache, s.seqcycle AS cycle,
  (SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname) || '.' || pg_catalog.quote_ident(a.attname)
     FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class t ON t.oid = d.refobjid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
     JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::pg_catalog.regclass AND d.deptype = 'a' LIMIT 1) AS owned_by
FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'i')
ORDER BY c.oid`;

const RELATIONS_SQL = `
SELECT c.oid::int8 AS oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name, c.relkind AS kind,
  c.relpersistence AS persistence, c.relispartition AS is_partition,
  CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS partition_key,
  CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound,
  (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno) FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) AS parents,
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END AS view,
  CASE WHEN c.relkind IN ('r', 'p', 'm') THEN c.reltuples::float8 END AS rows,
  CASE WHEN c.relkind IN ('r', 'p', 'm') THEN pg_catalog.pg_total_relation_size(c.oid)::int8 END AS bytes
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm') AND ${NOT_EXTENSION_MEMBER('pg_class', 'c.oid')}
ORDER BY c.oid`;

const COLUMNS_SQL = `
SELECT a.attrelid::int8 AS rel, pg_catalog.quote_ident(a.attname) AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
  a.attnotnull AS not_null, a.attidentity AS identity, a.attgenerated AS generated, a.attislocal AS local,
  pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS "default",
  CASE WHEN a.attcollation <> t.typcollation AND a.attcollation <> 0 THEN
    (SELECT pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation
FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`;

const CONSTRAINTS_SQL = `
SELECT c.conrelid::int8 AS rel, c.confrelid::int8 AS refers, pg_catalog.quote_ident(c.conname) AS name, c.contype AS kind, pg_catalog.pg_get_constraintdef(c.oid) AS def
FROM pg_catalog.pg_constraint c
WHERE c.conrelid = ANY($1::oid[]) AND c.contype IN ('p', 'u', 'c', 'x', 'f') AND c.conislocal AND c.coninhcount = 0
ORDER BY c.contype = 'f', c.conrelid, c.conname`;

const INDEXES_SQL = `
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(ic.relname) AS name, pg_catalog.pg_get_indexdef(i.indexrelid) AS def
FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
WHERE i.indrelid = ANY($1::oid[]) AND NOT ic.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY i.indexrelid`;

const TRIGGERS_SQL = `
SELECT pg_catalog.quote_ident(t.tgname) AS name, pg_catalog.pg_get_triggerdef(t.oid) AS def
FROM pg_catalog.pg_trigger t WHERE t.tgrelid = ANY($1::oid[]) AND NOT t.tgisinternal AND t.tgparentid = 0
ORDER BY t.oid`;

type Relation = {
  oid: string;
  name: string;
  kind: 'r' | 'p' | 'v' | 'm';
  persistence: string;
  is_partition: boolean;
  partition_key: string | null;
  bound: string | null;
  parents: string | null;
  view: string | null;
  rows: number | null;
  bytes: string | null;
};

type Column = {
  rel: string;
  name: string;
  type: string;
  not_null: boolean;
  identity: string;
  generated: string;
  local: boolean;
  default: string | null;
  collation: string | null;
};

const stripSemicolon = (sql: string) => sql.trim().replace(/;\s*$/, '');

function columnDdl(c: Column): string {
  const parts = [c.name, c.type];
  if (c.collation) parts.push(`COLLATE ${c.collation}`);
  if (c.generated === 's' && c.default) parts.push(`GENERATED ALWAYS AS (${c.default}) STORED`);
  else if (c.generated === 'v' && c.default) parts.push(`GENERATED ALWAYS AS (${c.default}) VIRTUAL`);
  else if (c.identity === 'a') parts.push('GENERATED ALWAYS AS IDENTITY');
  else if (c.identity === 'd') parts.push('GENERATED BY DEFAULT AS IDENTITY');
  else if (c.default) parts.push(`DEFAULT ${c.default}`);
  if (c.not_null) parts.push('NOT NULL');
  return parts.join(' ');
}

function relationDdl(r: Relation, columns: Column[], constraints: string[]): string {
  const unlogged = r.persistence === 'u' ? 'UNLOGGED ' : '';
  if (r.is_partition && r.parents) {
    return `CREATE ${unlogged}TABLE ${r.name} PARTITION OF ${r.parents} ${r.bound ?? 'DEFAULT'}${r.partition_key ? ` PARTITION BY ${r.partition_key}` : ''}`;
  }
  const own = [...columns.filter((c) => c.local).map(columnDdl), ...constraints];
  const inherits = r.parents ? ` INHERITS (${r.parents})` : '';
  const partitioned = r.partition_key ? ` PARTITION BY ${r.partition_key}` : '';
  return `CREATE ${unlogged}TABLE ${r.name} (${own.join(', ')})${inherits}${partitioned}`;
}

/**
 * Reads the DDL of every schema that is not the system's or an extension's, in one query per
 * catalog, over `session` (read-only). The session's search_path is emptied for the read so
 * that every name comes back qualified.
 */
export async function readLiveDdl(session: DbSession): Promise<LiveDdl> {
  let queries = 0;
  const q = <T extends Record<string, unknown>>(sql: string, params?: unknown[]) => {
    queries++;
    return session.query<T>(sql, params);
  };
  await q("SELECT pg_catalog.set_config('search_path', '', false)");
  const schemas = (await q<{ name: string }>(SCHEMAS_SQL)).map((r) => r.name);
  const statements: DdlStatement[] = [];
  const add = (phase: DdlPhase, object: string, sql: string) => statements.push({ phase, object, sql });
  const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

  for (const s of schemas) add('schema', `schema ${s}`, `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)}`);
  for (const e of await q<{ name: string; schema: string }>(EXTENSIONS_SQL))
    add(
      'extension',
      `extension ${e.name}`,
      `CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} SCHEMA ${quoteIdent(e.schema)}`,
    );

  const types = await q<{
    name: string;
    kind: string;
    labels: string | null;
    base: string | null;
    not_null: boolean;
    default: string | null;
    checks: string | null;
    fields: string | null;
  }>(TYPES_SQL, [schemas]);
  for (const t of types) {
    if (t.kind === 'e') add('type', `type ${t.name}`, `CREATE TYPE ${t.name} AS ENUM (${t.labels ?? ''})`);
    else if (t.kind === 'c') add('type', `type ${t.name}`, `CREATE TYPE ${t.name} AS (${t.fields ?? ''})`);
    else {
      const parts = [`CREATE DOMAIN ${t.name} AS ${t.base}`];
      if (t.default) parts.push(`DEFAULT ${t.default}`);
      if (t.not_null) parts.push('NOT NULL');
      if (t.checks) parts.push(t.checks);
      add('type', `domain ${t.name}`, parts.join(' '));
    }
  }
  for (const f of await q<{ name: string; def: string }>(FUNCTIONS_SQL, [schemas]))
    add('function', `function ${f.name}`, f.def);

  const sequences = await q<{
    name: string;
    type: string;
    start: string;
    increment: string;
    min: string;
    max: string;
    cache: string;
    cycle: boolean;
    owned_by: string | null;
  }>(SEQUENCES_SQL, [schemas]);
  for (const s of sequences)
    add(
      'sequence',
      `sequence ${s.name}`,
      `CREATE SEQUENCE ${s.name} AS ${s.type} INCREMENT ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} START ${s.start} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ''}`,
    );

  const relations = await q<Relation>(RELATIONS_SQL, [schemas]);
  const tables = relations.filter((r) => r.kind === 'r' || r.kind === 'p');
  const oids = relations.map((r) => r.oid);
  const columns = await q<Column>(COLUMNS_SQL, [oids]);
  const byRelation = new Map<string, Column[]>();
  for (const c of columns) {
    const list = byRelation.get(String(c.rel)) ?? [];
    list.push(c);
    byRelation.set(String(c.rel), list);
  }
  const names = new Map(relations.map((r) => [String(r.oid), r.name]));
  // Constraints go inside CREATE TABLE (one statement instead of one ALTER each, several times
  // quicker in PGlite); a foreign key to a table created later, and any constraint of a
  // partition, come after the tables.
  const tableOids = tables.map((t) => t.oid);
  const position = new Map(tables.map((t, i) => [String(t.oid), i]));
  const partitions = new Set(tables.filter((t) => t.is_partition).map((t) => String(t.oid)));
  const inline = new Map<string, string[]>();
  const later: Array<{ rel: string; name: string; def: string }> = [];
  for (const c of await q<{ rel: string; refers: string; name: string; kind: string; def: string }>(
    CONSTRAINTS_SQL,
    [tableOids],
  )) {
    const referencesLater =
      c.kind === 'f' && !((position.get(String(c.refers)) ?? Infinity) <= position.get(String(c.rel))!);
    if (referencesLater || partitions.has(String(c.rel))) later.push(c);
    else inline.set(String(c.rel), [...(inline.get(String(c.rel)) ?? []), `CONSTRAINT ${c.name} ${c.def}`]);
  }
  for (const t of tables)
    add(
      'table',
      `table ${t.name}`,
      relationDdl(t, byRelation.get(String(t.oid)) ?? [], inline.get(String(t.oid)) ?? []),
    );
  for (const c of later)
    add(
      'constraint',
      `constraint ${c.name} on ${names.get(String(c.rel))}`,
      `ALTER TABLE ${names.get(String(c.rel))} ADD CONSTRAINT ${c.name} ${c.def}`,
    );
  for (const i of await q<{ name: string; def: string }>(INDEXES_SQL, [oids]))
    add('index', `index ${i.name}`, i.def);
  for (const v of relations.filter((r) => r.kind === 'v' || r.kind === 'm')) {
    const body = stripSemicolon(v.view ?? '');
    add(
      'view',
      `${v.kind === 'm' ? 'materialized view' : 'view'} ${v.name}`,
      v.kind === 'm'
        ? `CREATE MATERIALIZED VIEW ${v.name} AS ${body} WITH NO DATA`
        : `CREATE VIEW ${v.name} AS ${body}`,
    );
  }
  for (const t of await q<{ name: string; def: string }>(TRIGGERS_SQL, [tableOids]))
    add('trigger', `trigger ${t.name}`, t.def);
  for (const s of sequences)
    if (s.owned_by) add('owned', `sequence ${s.name}`, `ALTER SEQUENCE ${s.name} OWNED BY ${s.owned_by}`);

  const sizes = new Map<string, TableSize>();
  for (const r of relations) {
    if (r.bytes === null) continue;
    const rows = r.rows === null || Number(r.rows) < 0 ? undefined : Number(r.rows);
    sizes.set(r.name, { table: r.name, bytes: Number(r.bytes), ...(rows === undefined ? {} : { rows }) });
  }
  const digest = createHash('sha256')
    .update(statements.map((s) => s.sql).join(';\n'))
    .digest('hex');
  return { statements, sizes, schemas, digest, queries };
}
