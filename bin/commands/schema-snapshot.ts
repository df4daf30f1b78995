import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MIGRATION_TOOLS, contractJsonSchema, type MigrationTool } from '../../checks/schema/contract';
import { connectionFromArgs, describeConnection } from '../../checks/schema/connection';
import { openSession } from '../../checks/schema/open-session';
import { snapshotContract } from '../../checks/schema/snapshot';
import { errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../command';
import { schemaRecordCommand } from './schema-record';
import { REHEARSE_USAGE, schemaRehearseCommand } from './schema-rehearse';

const USAGE = `greenlight schema snapshot --db URL [--out FILE] [--schema NAME]... [--tool TOOL] [--ca-file PEM]
       greenlight schema record --db URL [--out FILE] [--role NAME]... [--top N] [--ca-file PEM]
       greenlight schema rehearse --db URL --migrations DIR [--tool TOOL] [--statements FILE]...
       greenlight schema contract-schema

  snapshot         write a contract from a live database (read-only session), to start from
  record           save the statements the application runs (normalised, never values), before a
                   migration; --role NAME: PostgreSQL role(s) of the application; --top N (200)
  rehearse         apply the pending migrations to a copy of the live schema (PGlite) and
                   prepare blue's statements against the result (options below)
  contract-schema  print the JSON Schema of the contract format

  --db URL         postgres://user@host:5432/db or mysql://user@host:3306/db; add ?sslmode=disable
                   for a database without TLS (default verify-full). The password may come from
                   GREENLIGHT_DB_PASSWORD instead of the URL.
  --out FILE       write there instead of stdout
  --schema NAME    PostgreSQL schema to read (repeatable; default public)
  --tool TOOL      migration tool, when detection from the history tables is not enough:
                   ${MIGRATION_TOOLS.filter((t) => t !== 'custom').join(', ')}
  --ca-file PEM    CA bundle to verify the server with (e.g. the RDS global bundle)

${REHEARSE_USAGE}`;

/** `greenlight schema snapshot|contract-schema`: bootstrap and describe schema contracts. */
export const schemaSnapshotCommand: Command = {
  name: 'schema',
  summary:
    'Write a schema contract from a live database (snapshot), save the statements the application runs (record), or print the contract JSON Schema.',
  usage: USAGE,
  async run(args, io) {
    const [sub, ...rest] = args;
    if (sub === 'contract-schema') {
      io.stdout.write(JSON.stringify(contractJsonSchema(), null, 2) + '\n');
      return EXIT_OK;
    }
    if (sub === 'record') return schemaRecordCommand.run(rest, io);
    if (sub === 'rehearse') return schemaRehearseCommand.run(rest, io);
    if (sub !== 'snapshot') {
      io.stderr.write(
        `greenlight schema: expected "snapshot", "record", "rehearse" or "contract-schema"${sub ? `, got "${sub}"` : ''}\nusage: ${USAGE}\n`,
      );
      return EXIT_USAGE;
    }
    let values: { db?: string; out?: string; schema?: string[]; tool?: string; 'ca-file'?: string };
    try {
      ({ values } = parseArgs({
        args: rest,
        options: {
          db: { type: 'string' },
          out: { type: 'string' },
          schema: { type: 'string', multiple: true },
          tool: { type: 'string' },
          'ca-file': { type: 'string' },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      io.stderr.write(`greenlight schema snapshot: ${errorMessage(err)}\n`);
      return EXIT_USAGE;
    }
    if (!values.db) {
      io.stderr.write('greenlight schema snapshot: --db URL is required\n');
      return EXIT_USAGE;
    }
    if (values.tool !== undefined && !(MIGRATION_TOOLS as readonly string[]).includes(values.tool)) {
      io.stderr.write(
        `greenlight schema snapshot: --tool: expected one of ${MIGRATION_TOOLS.join(', ')}, got "${values.tool}"\n`,
      );
      return EXIT_USAGE;
    }
    const settings = connectionFromArgs(values.db, values['ca-file'], io.env);
    if ('field' in settings) {
      io.stderr.write(`greenlight schema snapshot: --db: ${redactText(settings.message)}\n`);
      return EXIT_USAGE;
    }
    const controller = new AbortController();
    try {
      const session = await openSession(settings, controller.signal);
      try {
        const snapshotOptions: Parameters<typeof snapshotContract>[1] = {
          schemas: values.schema?.length ? values.schema : ['public'],
        };
        if (values.tool) snapshotOptions.tool = values.tool as MigrationTool;
        const contract = await snapshotContract(session, snapshotOptions);
        const text = JSON.stringify(contract, null, 2) + '\n';
        if (values.out) {
          await writeFile(resolve(io.cwd, values.out), text);
          const tables = Object.keys(contract.reads).length;
          io.stderr.write(`wrote ${values.out}: ${tables} tables from ${describeConnection(settings)}\n`);
        } else {
          io.stdout.write(text);
        }
        return EXIT_OK;
      } finally {
        await session.close();
      }
    } catch (err) {
      io.stderr.write(`greenlight schema snapshot: ${redactText(errorMessage(err))}\n`);
      return EXIT_FAILED;
    }
  },
};
