import { parseCommandArgs } from '../command-args';
import { connectionFromArgs, describeConnection } from '../../checks/schema/connection';
import { openSession } from '../../checks/schema/open-session';
import { recordStatements } from '../../checks/schema/observed-statements';
import { saveRecorded } from '../../checks/schema/recorded-statements';
import { DEFAULT_OBSERVED_TOP } from '../../checks/schema/statements-option';
import { errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../command';

export const RECORD_USAGE = `greenlight schema record --db URL [--out FILE|s3://bucket/key] [--role NAME]... [--top N] [--ca-file PEM]

  Saves the statements the application runs (normalised: placeholders, never values) before a
  migration, for the schema check's \`statements: { recorded: FILE }\` to prepare afterwards,
  even once the statistics were reset.

  --db URL         postgres://user@host:5432/db or mysql://user@host:3306/db; add ?sslmode=disable
                   for a database without TLS (default verify-full). The password may come from
                   GREENLIGHT_DB_PASSWORD instead of the URL.
  --out FILE       write there instead of stdout; s3://bucket/key writes an S3 object
                   (s3:PutObject on it; credentials and region as the AWS CLI finds them)
  --role NAME      PostgreSQL: the application's role (repeatable; default every role but this login)
  --top N          how many statements, the most executed first (default ${DEFAULT_OBSERVED_TOP})
  --ca-file PEM    CA bundle to verify the server with (e.g. the RDS global bundle)`;

/** `greenlight schema record`: a file of blue's statements, taken before green's migration runs. */
export const schemaRecordCommand: Command = {
  name: 'schema record',
  summary:
    'Save the statements the application runs (pg_stat_statements, performance_schema) to a file or S3 object.',
  usage: RECORD_USAGE,
  async run(args, io) {
    const fail = (message: string, code: number) => {
      io.stderr.write(`greenlight schema record: ${redactText(message)}\n`);
      return code;
    };
    let values;
    try {
      values = parseCommandArgs(args, {
        db: { type: 'string' },
        out: { type: 'string' },
        role: { type: 'string', multiple: true },
        top: { type: 'string' },
        'ca-file': { type: 'string' },
      });
    } catch (err) {
      return fail(errorMessage(err), EXIT_USAGE);
    }
    if (!values.db) return fail('--db URL is required', EXIT_USAGE);
    const top = values.top === undefined ? DEFAULT_OBSERVED_TOP : Number(values.top);
    if (!Number.isInteger(top) || top < 1 || top > 10_000)
      return fail(`--top: expected a whole number 1–10000, got "${values.top}"`, EXIT_USAGE);
    const settings = connectionFromArgs(values.db, values['ca-file'], io.env);
    if ('field' in settings) return fail(`--db: ${settings.message}`, EXIT_USAGE);
    if (settings.engine === 'mysql' && values.role?.length)
      return fail('--role applies to PostgreSQL only; MySQL digests are read per database', EXIT_USAGE);

    try {
      const session = await openSession(settings, new AbortController().signal);
      try {
        const recorded = await recordStatements(session, {
          top,
          ...(values.role?.length ? { roles: values.role } : {}),
        });
        const text = JSON.stringify(recorded, null, 2) + '\n';
        if (!values.out) {
          io.stdout.write(text);
          return EXIT_OK;
        }
        await saveRecorded(recorded, values.out, { cwd: io.cwd });
        io.stderr.write(
          `wrote ${values.out}: ${recorded.statements.length} statements from ${recorded.source} on ${describeConnection(settings)}\n`,
        );
        return EXIT_OK;
      } finally {
        await session.close();
      }
    } catch (err) {
      return fail(errorMessage(err), EXIT_FAILED);
    }
  },
};
