import { z } from 'zod';
import { formatIssue, issueMessages } from '../../lib/config-issues';
import { ConfigError } from '../../lib/errors';

/** Migration tools whose history table the schema check knows how to read. */
export const MIGRATION_TOOLS = [
  'flyway',
  'liquibase',
  'knex',
  'prisma',
  'rails',
  'golang-migrate',
  'django',
  'typeorm',
  'sequelize',
  'drizzle',
  'custom',
] as const;

export type MigrationTool = (typeof MIGRATION_TOOLS)[number];

/** A plain SQL identifier: letters, digits, `_` and `$`, not starting with a digit. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const identifier = z
  .string()
  .regex(IDENTIFIER, { error: 'expected a plain SQL identifier (letters, digits, _ and $)' });
/** `table` or `schema.table`. */
const tableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, {
  error: 'expected "table" or "schema.table"',
});
/** `table.column` or `schema.table.column`. */
const columnRef = z.string().regex(/^([A-Za-z_][A-Za-z0-9_$]*\.){1,2}[A-Za-z_][A-Za-z0-9_$]*$/, {
  error: 'expected "table.column" or "schema.table.column"',
});

/** Type families a contract may accept for a column (see `typeFamily`). */
export const TYPE_FAMILIES = [
  'integer',
  'decimal',
  'float',
  'text',
  'boolean',
  'timestamp',
  'date',
  'time',
  'interval',
  'uuid',
  'json',
  'binary',
  'enum',
  'array',
  'other',
] as const;
export type TypeFamily = (typeof TYPE_FAMILIES)[number];

const tableColumns = z
  .record(tableName, z.array(identifier).min(1, { error: 'expected at least one column name' }))
  .describe('Columns per table: `{ "users": ["id", "email"] }`.');

const migrationsSchema = z
  .strictObject({
    tool: z.enum(MIGRATION_TOOLS).describe('Which tool records applied migrations.'),
    table: tableName
      .optional()
      .describe('History table, when not the tool’s default (`schema.table` allowed).'),
    idColumn: identifier.optional().describe('Column holding the migration id (required for `custom`).'),
    successColumn: identifier
      .optional()
      .describe('`custom`: boolean column, false marks a failed migration.'),
    dirtyColumn: identifier
      .optional()
      .describe('`custom`: boolean column, true marks a half-applied migration.'),
    required: z.array(z.string().min(1)).default([]).describe('Migrations this version needs applied.'),
    known: z
      .record(z.string().min(1), z.enum(['expand', 'contract']))
      .optional()
      .describe(
        'Every migration this version knows, with its phase. An applied migration missing here is from a later version; ' +
          'it must be `expand` in the other version’s contract while this version is live.',
      ),
  })
  .superRefine((value, ctx) => {
    if (value.tool === 'custom' && !value.table)
      ctx.addIssue({ code: 'custom', path: ['table'], message: 'expected a table name for tool "custom"' });
    if (value.tool === 'custom' && !value.idColumn)
      ctx.addIssue({
        code: 'custom',
        path: ['idColumn'],
        message: 'expected an id column for tool "custom"',
      });
  });

/**
 * What one app version needs from the database: the tables and columns it reads and writes,
 * the column types and enum values it relies on, and the migrations it expects. An app can ship
 * it with its build or serve it at `/.well-known/greenlight/contract.json`.
 */
export const schemaContract = z
  .strictObject({
    $schema: z.string().optional(),
    version: z
      .string()
      .optional()
      .describe('A label for the app version, shown in messages (e.g. a git sha).'),
    engine: z.enum(['postgres', 'mysql']).optional().describe('The engine the contract was written for.'),
    schemas: z
      .array(identifier)
      .min(1)
      .optional()
      .describe(
        'PostgreSQL schemas that unqualified table names live in (default `["public"]`); MySQL uses the connection’s database.',
      ),
    reads: tableColumns
      .default({})
      .describe('Columns this version SELECTs, per table (a view satisfies reads).'),
    writes: tableColumns
      .default({})
      .describe(
        'Columns this version INSERTs, per table. Every NOT NULL column without a default must be here.',
      ),
    types: z
      .record(columnRef, z.array(z.string().min(1)).min(1))
      .default({})
      .describe(
        'Accepted types per column: family names (`integer`, `text`, ...) or exact types (`bigint`, `varchar(255)`).',
      ),
    enums: z
      .record(columnRef, z.array(z.string()).min(1))
      .default({})
      .describe(
        'Enum values this version writes, per column (a PostgreSQL enum type or a MySQL ENUM column).',
      ),
    constraints: z
      .record(tableName, z.array(z.string().min(1)))
      .optional()
      .describe(
        'Constraint names known to this version, per table; others on columns it writes are reported.',
      ),
    migrations: migrationsSchema.optional(),
  })
  .describe('What one app version needs from the database (greenlight schema contract).');

export type SchemaContract = z.output<typeof schemaContract>;
export type ContractMigrations = NonNullable<SchemaContract['migrations']>;

/**
 * The schemas (MySQL: databases) a contract names in `schema.table` and `schema.table.column`
 * references: they are read whatever `schemas` says, or such a table would look dropped.
 */
export function schemasNamedIn(contract: SchemaContract): string[] {
  const named = new Set<string>();
  const tableRefs = [contract.reads, contract.writes, contract.constraints ?? {}].flatMap(Object.keys);
  for (const ref of tableRefs) if (ref.includes('.')) named.add(ref.slice(0, ref.indexOf('.')));
  for (const ref of [...Object.keys(contract.types), ...Object.keys(contract.enums)]) {
    const parts = ref.split('.');
    if (parts.length === 3) named.add(parts[0]!);
  }
  return [...named];
}

/** Validates a parsed contract document; the ConfigError names the source, the path and what was expected. */
export function parseContract(document: unknown, source: string): SchemaContract {
  const parsed = schemaContract.safeParse(document, { reportInput: true, error: issueMessages });
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map(formatIssue);
  const more = lines.length > 1 ? ` (+${lines.length - 1} more: ${lines.slice(1, 4).join('; ')})` : '';
  throw new ConfigError(`contract ${source} is invalid: ${lines[0]}${more}`, { cause: parsed.error });
}

/** The JSON Schema of the contract format, generated from `schemaContract`. */
export function contractJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(schemaContract, { io: 'input', unrepresentable: 'any' });
  return { ...schema, title: 'greenlight schema contract' };
}
