import { resolve } from 'node:path';
import { parseCommandArgs } from '../command-args';
import { connectionFromArgs, describeConnection } from '../../checks/schema/connection';
import { openSession } from '../../checks/schema/open-session';
import {
  folderMigrations,
  inferRehearsalTool,
  REHEARSAL_TOOLS,
  type RehearsalTool,
} from '../../checks/schema/migration-files';
import { DEFAULT_LARGE_TABLE } from '../../checks/schema/migration-lint';
import type { StatementsOption } from '../../checks/schema/statements-option';
import { rehearseMigration, type RehearsalResult } from '../../checks/schema/rehearse-migration';
import { errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../command';

export const REHEARSE_USAGE = `greenlight schema rehearse --db URL --migrations DIR [--tool ${REHEARSAL_TOOLS.join('|')}]
       [--statements FILE|s3://bucket/key] [--observed] [--role NAME]... [--schema NAME]...
       [--history-table NAME] [--large-rows N] [--large-mb N] [--json] [--ca-file PEM]

  Rebuilds the live schema (read-only session) in an embedded PostgreSQL, applies the
  migrations the live database has not run yet, and prepares blue's statements against the
  result. Fails on a migration that does not apply, a blue statement it breaks, or a lock-heavy
  statement on a large table; the live database is never written.

  --migrations DIR   the release's migration files
  --tool TOOL        flyway (V<version>__x.sql, pending from flyway_schema_history),
                     golang-migrate (<version>_x.up.sql, from schema_migrations), plain (every
                     .sql file, in name order); default: from the file names
  --statements FILE  blue's statements, from \`greenlight schema record\` (file or s3://bucket/key)
  --observed         also blue's statements from pg_stat_statements now (--role NAME: its role)
  --schema NAME      search_path for blue's statements (repeatable; default public)
  --history-table T  the tool's history table, when not its default
  --large-rows N     a table counts as large from N rows (default ${DEFAULT_LARGE_TABLE.rows})
  --large-mb N       ... or from N MiB (default ${DEFAULT_LARGE_TABLE.bytes / 1024 / 1024})
  --json             print the result as JSON`;

function positiveNumber(raw: string | undefined, name: string): number | undefined | Error {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : new Error(`--${name}: expected a positive number, got "${raw}"`);
}

/** `greenlight schema rehearse`: green's pending migrations tried on a copy of the live schema first. */
export const schemaRehearseCommand: Command = {
  name: 'schema rehearse',
  summary: 'Apply pending migrations to a copy of the live schema and prepare blue’s statements against it.',
  usage: REHEARSE_USAGE,
  async run(args, io) {
    const fail = (message: string, code: number) => {
      io.stderr.write(`greenlight schema rehearse: ${redactText(message)}\n`);
      return code;
    };
    let values;
    try {
      values = parseCommandArgs(args, {
        db: { type: 'string' },
        migrations: { type: 'string' },
        tool: { type: 'string' },
        statements: { type: 'string' },
        observed: { type: 'boolean' },
        role: { type: 'string', multiple: true },
        schema: { type: 'string', multiple: true },
        'history-table': { type: 'string' },
        'large-rows': { type: 'string' },
        'large-mb': { type: 'string' },
        json: { type: 'boolean' },
        'ca-file': { type: 'string' },
      });
    } catch (err) {
      return fail(errorMessage(err), EXIT_USAGE);
    }
    if (!values.db) return fail('--db URL is required', EXIT_USAGE);
    if (!values.migrations) return fail('--migrations DIR is required', EXIT_USAGE);
    if (values.tool !== undefined && !(REHEARSAL_TOOLS as readonly string[]).includes(values.tool))
      return fail(`--tool: expected one of ${REHEARSAL_TOOLS.join(', ')}, got "${values.tool}"`, EXIT_USAGE);
    if (values.role?.length && !values.observed) return fail('--role applies with --observed', EXIT_USAGE);
    const rows = positiveNumber(values['large-rows'], 'large-rows');
    const mb = positiveNumber(values['large-mb'], 'large-mb');
    if (rows instanceof Error) return fail(rows.message, EXIT_USAGE);
    if (mb instanceof Error) return fail(mb.message, EXIT_USAGE);
    const settings = connectionFromArgs(values.db, values['ca-file'], io.env);
    if ('field' in settings) return fail(`--db: ${settings.message}`, EXIT_USAGE);
    if (settings.engine !== 'postgres')
      return fail('--db: rehearsal needs PostgreSQL (a postgres:// URL)', EXIT_USAGE);

    const migrations = resolve(io.cwd, values.migrations);
    const tool =
      (values.tool as RehearsalTool | undefined) ??
      inferRehearsalTool(
        await folderMigrations(migrations)
          .list()
          .catch(() => []),
      );
    let statements: StatementsOption | undefined;
    if (values.statements || values.observed) {
      statements = {
        ...(values.statements ? { recorded: values.statements } : {}),
        ...(values.observed
          ? { observed: { top: 200, ...(values.role?.length ? { roles: values.role } : {}) } }
          : {}),
      };
    }
    let result: RehearsalResult;
    const target = describeConnection(settings);
    try {
      const session = await openSession(settings, new AbortController().signal);
      try {
        result = await rehearseMigration({
          live: session,
          migrations,
          tool,
          cwd: io.cwd,
          large: {
            rows: rows ?? DEFAULT_LARGE_TABLE.rows,
            bytes: mb !== undefined ? mb * 1024 * 1024 : DEFAULT_LARGE_TABLE.bytes,
          },
          ...(values['history-table'] ? { historyTable: values['history-table'] } : {}),
          ...(values.schema?.length ? { searchPath: values.schema } : {}),
          ...(statements ? { statements } : {}),
        });
      } finally {
        await session.close();
      }
    } catch (err) {
      return fail(`${target}: ${errorMessage(err)}`, EXIT_FAILED);
    }
    io.stdout.write(
      redactText(
        values.json
          ? JSON.stringify({ database: target, tool, ...result }, null, 2) + '\n'
          : formatRehearsal(result, target, tool),
      ),
    );
    return result.outcome === 'passed' && result.live.unchanged ? EXIT_OK : EXIT_FAILED;
  },
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The plain-text report: one line per finding with its fix, then what was checked and the verdict. */
export function formatRehearsal(result: RehearsalResult, target: string, tool: RehearsalTool): string {
  const lines: string[] = [];
  lines.push(
    `rehearsal of ${plural(result.pending.length, `pending ${tool} migration`)}${result.pending.length ? ` (${result.pending.join(', ')})` : ''} on a copy of ${target}: ${plural(result.live.tables, 'table')}, shadow built in ${result.ms.shadow} ms`,
  );
  for (const f of result.findings) {
    lines.push(`  ✗ ${f.message}`);
    if (f.fix) lines.push(`    fix: ${f.fix}`);
  }
  const s = result.statements;
  const notChecked = Object.entries(s.notChecked).map(([why, n]) => `${n} ${why}`);
  lines.push(
    `  blue's statements: ${s.checked} checked, ${s.prepared} prepared after the migrations${notChecked.length ? `; not checked: ${notChecked.join(', ')}` : ''}`,
  );
  if (result.gaps.length)
    lines.push(
      `  not rebuilt in the shadow: ${result.gaps
        .slice(0, 5)
        .map((g) => `${g.object} (${g.error})`)
        .join('; ')}${result.gaps.length > 5 ? ` (+${result.gaps.length - 5} more)` : ''}`,
    );
  lines.push(
    result.live.unchanged
      ? `  live schema unchanged (DDL sha256 ${result.live.digestBefore.slice(0, 16)} before and after)`
      : `  ✗ the live schema changed during the run (DDL sha256 ${result.live.digestBefore.slice(0, 16)} → ${result.live.digestAfter.slice(0, 16)}): another session altered it; rehearse again`,
  );
  const verdict =
    result.outcome === 'passed' && result.live.unchanged
      ? 'Passed'
      : `Failed (${plural(result.findings.length, 'problem')})`;
  lines.push(`${verdict} in ${result.ms.total} ms`);
  return lines.join('\n') + '\n';
}
