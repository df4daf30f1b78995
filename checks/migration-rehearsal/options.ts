// The migration-rehearsal check's options: the live database, green's migrations, blue's statements.
import { z } from 'zod';
import { connectionOptions } from '../schema/connection';
import { REHEARSAL_TOOLS } from '../schema/migration-files';
import { DEFAULT_LARGE_TABLE } from '../schema/migration-lint';
import { statementsOption } from '../schema/statements-option';

const { engine: _engine, ...postgresConnection } = connectionOptions;
const identifier = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export const migrationRehearsalOptions = z.strictObject({
  ...postgresConnection,
  migrations: z
    .string()
    .min(1)
    .describe(
      'Green’s migration files: `s3://bucket/prefix/` (uploaded by the pipeline), or a folder packaged with the hooks (relative to the working directory, the bundle root in Lambda).',
    ),
  tool: z
    .enum(REHEARSAL_TOOLS, { error: `expected one of ${REHEARSAL_TOOLS.join(', ')}` })
    .optional()
    .describe(
      '`flyway` (V<version>__x.sql), `golang-migrate` (<version>_x.up.sql) or `plain` (every .sql file, in name order); default: from the file names.',
    ),
  historyTable: z
    .string()
    .regex(/^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/, {
      error: 'expected table or schema.table',
    })
    .optional()
    .describe('The tool’s history table on the live database, when not its default.'),
  statements: statementsOption
    .optional()
    .describe(
      'Blue’s statements, prepared on the copy before and after the migrations: `{ recorded: s3://bucket/key }` from `greenlight schema record`, and/or `observed` from pg_stat_statements now.',
    ),
  schemas: z
    .array(z.string().regex(identifier, { error: 'expected a schema name' }))
    .min(1)
    .optional()
    .describe('The search_path blue’s statements run under (default `public`).'),
  largeTables: z
    .strictObject({
      rows: z
        .int()
        .min(1)
        .default(DEFAULT_LARGE_TABLE.rows)
        .describe('A table counts as large from this many rows (pg_class.reltuples).'),
      mb: z
        .number()
        .positive()
        .default(DEFAULT_LARGE_TABLE.bytes / 1024 / 1024)
        .describe('... or from this many MiB (pg_total_relation_size).'),
    })
    .prefault({})
    .describe('When a statement on a table is checked against the lock rules.'),
  severity: z
    .strictObject({
      locks: z
        .enum(['fail', 'warn'], { error: 'expected "fail" or "warn"' })
        .default('fail')
        .describe('A lock rule that fires fails the check, or is reported as a warning.'),
    })
    .prefault({})
    .describe(
      'Whether lock findings fail the check; a failing migration or a broken blue statement always does.',
    ),
});

export type MigrationRehearsalOptions = z.output<typeof migrationRehearsalOptions>;
