import type { MigrationTool, SchemaContract } from './contract';
import type { DbSession } from './connection';
import { introspect } from './introspect';
import { BOOKKEEPING_TABLES, detectMigrationTool, readMigrationHistory } from './migrations';
import type { LiveTable } from './model';

export interface SnapshotOptions {
  schemas: readonly string[];
  /** Overrides detection from the history tables present. */
  tool?: MigrationTool;
}

/**
 * A starting contract from a live database: every table and view is read, every writable
 * column of every table is written, each column's type family is accepted, enum values and
 * constraint names are as they are now, and every applied migration is required and known as
 * `expand`. Trim it to what the app really uses.
 */
export async function snapshotContract(
  session: DbSession,
  options: SnapshotOptions,
): Promise<SchemaContract> {
  const live = await introspect(session, options.schemas);
  const contract: SchemaContract = {
    engine: live.engine,
    ...(live.engine === 'postgres' ? { schemas: [...options.schemas] } : {}),
    reads: {},
    writes: {},
    types: {},
    enums: {},
    constraints: {},
  };
  const defaultSchema = live.schemas[0]!;
  const tables = [...live.tables.values()]
    .filter(
      (t) => !BOOKKEEPING_TABLES.has(t.name.toLowerCase()) && !/^_+.+_(gho|ghc|new|old|del)$/.test(t.name),
    )
    .sort((a, b) => ref(a, defaultSchema).localeCompare(ref(b, defaultSchema)));
  for (const table of tables) {
    const name = ref(table, defaultSchema);
    const columns = [...table.columns.values()];
    contract.reads[name] = columns.map((c) => c.name);
    const writable = columns.filter((c) => c.writable && c.identity !== 'always').map((c) => c.name);
    if (table.kind === 'table' && writable.length) contract.writes[name] = writable;
    for (const c of columns) {
      contract.types[`${name}.${c.name}`] = [
        c.family === 'other' || c.family === 'array' ? c.type : c.family,
      ];
      if (c.enumValues && table.kind === 'table') contract.enums[`${name}.${c.name}`] = [...c.enumValues];
    }
    if (table.kind === 'table') contract.constraints![name] = table.constraints.map((c) => c.name).sort();
  }
  const tool = options.tool ?? detectMigrationTool(live.tables);
  if (tool && tool !== 'custom') {
    const history = await readMigrationHistory(session, { tool, required: [] }, defaultSchema);
    const ok = history.applied.filter((m) => !m.failed && !m.dirty).map((m) => m.id);
    contract.migrations = {
      tool,
      required: ok,
      known: Object.fromEntries(ok.map((id) => [id, 'expand' as const])),
    };
  }
  return contract;
}

function ref(table: LiveTable, defaultSchema: string): string {
  return table.schema === defaultSchema ? table.name : `${table.schema}.${table.name}`;
}
