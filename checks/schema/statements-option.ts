// The schema check's `statements` option: which application statements to check (observed now, recorded before).
import { z } from 'zod';

export const DEFAULT_OBSERVED_TOP = 200;

const observedOptions = z
  .strictObject({
    top: z
      .int()
      .min(1)
      .max(10_000)
      .default(DEFAULT_OBSERVED_TOP)
      .describe('How many statements to check, the most executed first.'),
    roles: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        'PostgreSQL: the roles whose statements are read (the application’s login); default every role but the check’s own. MySQL digests are per database, not per user.',
      ),
  })
  .describe('Read the statements the database has seen (pg_stat_statements, performance_schema).');

/**
 * The `statements` option of the schema check: the statements the application runs, prepared
 * against the live schema, with or without contracts.
 */
export const statementsOption = z
  .union([
    z.literal('observed'),
    z
      .strictObject({
        observed: observedOptions.optional(),
        recorded: z
          .string()
          .min(1)
          .optional()
          .describe(
            'A file or `s3://bucket/key` object written by `greenlight schema record` before the migration ran.',
          ),
      })
      .refine((v) => v.observed !== undefined || v.recorded !== undefined, {
        error: 'expected observed and/or recorded',
      }),
  ])
  .describe(
    '`observed` (or `{ observed: { top, roles } }`) prepares the statements the database has seen; `{ recorded: FILE }` those saved by `greenlight schema record`.',
  );

export type StatementsOption = z.output<typeof statementsOption>;
export interface ObservedOptions {
  top: number;
  roles?: string[];
}

/** What to check, from the option's short or long form. */
export function statementSources(option: StatementsOption): {
  observed?: ObservedOptions;
  recorded?: string;
} {
  if (option === 'observed') return { observed: { top: DEFAULT_OBSERVED_TOP } };
  const sources: { observed?: ObservedOptions; recorded?: string } = {};
  if (option.observed) sources.observed = option.observed;
  if (option.recorded) sources.recorded = option.recorded;
  return sources;
}
