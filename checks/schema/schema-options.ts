// The schema check's options and the severity policy they set.
import { z } from 'zod';
import { connectionOptions } from './connection';
import { contractSource, DEFAULT_CONTRACT_MAX_BYTES, DEFAULT_CONTRACT_TIMEOUT_MS } from './contract-source';
import type { Severity, SeverityPolicy } from './finding';
import { statementsOption } from './statements-option';

const severity = z.enum(['fail', 'warn'], { error: 'expected "fail" or "warn"' });

export const schemaOptions = z.strictObject({
  ...connectionOptions,
  schemas: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'expected a schema name' }))
    .min(1)
    .optional()
    .describe(
      'PostgreSQL schemas to read (default: the contracts’ `schemas`, else `public`); a schema a contract names in `schema.table` is read as well.',
    ),
  contracts: z
    .strictObject({
      green: contractSource.describe('The new version’s contract, e.g. `{ target: test }`.'),
      blue: contractSource
        .optional()
        .describe('The running version’s contract, e.g. `{ target: prod }`; without it blue is not checked.'),
    })
    .optional()
    .describe('Where each version’s contract comes from; required unless `statements` is set.'),
  statements: statementsOption.optional(),
  record: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Also save the observed statements to this file or `s3://bucket/key` (at BeforeInstall: blue’s, before green’s migration), for a later check’s `statements: { recorded }`.',
    ),
  sqlMode: z
    .string()
    .optional()
    .describe(
      'MySQL: the sql_mode the apps’ sessions run with, when they set their own (default: the server’s @@sql_mode).',
    ),
  contractTimeoutMs: z
    .int()
    .min(100)
    .max(60_000)
    .default(DEFAULT_CONTRACT_TIMEOUT_MS)
    .describe('Timeout for fetching a contract over HTTP.'),
  contractMaxBytes: z
    .int()
    .min(1_024)
    .max(16_777_216)
    .default(DEFAULT_CONTRACT_MAX_BYTES)
    .describe('Largest contract document accepted.'),
  severity: z
    .strictObject({
      constraints: severity
        .default('warn')
        .describe('New or NOT VALID constraints on columns a version writes.'),
      inFlight: severity
        .default('fail')
        .describe('gh-ost / pt-osc shadow tables, running ALTERs, unfinished pgroll migrations.'),
      unknownMigrations: severity
        .default('warn')
        .describe('Applied migrations that no contract gives a phase.'),
    })
    .prefault({})
    .describe(
      'Whether findings that do not always break a version fail the check or are reported as warnings.',
    ),
});

export type SchemaOptions = z.output<typeof schemaOptions>;

/** The `severity` option as the rules take it. */
export function policyOf(options: SchemaOptions): SeverityPolicy {
  const map = (s: 'fail' | 'warn'): Severity => (s === 'fail' ? 'failure' : 'warning');
  return {
    constraints: map(options.severity.constraints),
    inFlight: map(options.severity.inFlight),
    unknownMigrations: map(options.severity.unknownMigrations),
  };
}
