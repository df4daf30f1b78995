// Reads the application's statements: observed in the engine's statistics and/or recorded before a migration.
import type { DbSession } from './connection';
import type { StatementReader } from './statement-reader';
import {
  keepSafe,
  loadRecorded,
  RECORDED_FORMAT,
  type CheckedStatement,
  type RecordedStatements,
} from './recorded-statements';
import { statementSources, type ObservedOptions, type StatementsOption } from './statements-option';

/** The engine's statement source: pg_stat_statements or performance_schema, loaded only when used. */
export async function readerFor(session: DbSession, searchPath: readonly string[]): Promise<StatementReader> {
  if (session.engine === 'postgres') {
    const { postgresReader } = await import('./observed-postgres');
    return postgresReader(session, searchPath);
  }
  const { mysqlReader } = await import('./observed-mysql');
  return mysqlReader(session);
}

/**
 * Reads the top statements from the engine's statistics and keeps those that can be shown and
 * prepared: literals the normaliser left become placeholders, non-DML and multi-statement text
 * is left out (and counted).
 */
export async function observeStatements(
  session: DbSession,
  options: ObservedOptions,
): Promise<{
  statements: CheckedStatement[];
  skipped: Record<string, number>;
  source: StatementReader['source'];
}> {
  const reader = await readerFor(session, []);
  const { statements, hidden } = await reader.read({ roles: options.roles ?? [], top: options.top });
  const skipped: Record<string, number> = {};
  if (hidden) skipped['text hidden (grant pg_read_all_stats)'] = hidden;
  return { ...keepSafe(statements, session.engine, 'observed', skipped), source: reader.source };
}

/** What `greenlight schema record` saves: blue's statements, normalised, before a migration. */
export async function recordStatements(
  session: DbSession,
  options: ObservedOptions,
): Promise<RecordedStatements> {
  const observed = await observeStatements(session, options);
  return {
    format: RECORDED_FORMAT,
    engine: session.engine,
    database: session.database,
    source: observed.source,
    recordedAt: new Date().toISOString(),
    statements: observed.statements.map((s) => ({
      text: s.text,
      calls: s.calls,
      ...(s.role ? { role: s.role } : {}),
    })),
  };
}

/** Where `collectStatements` reads from. */
export interface CollectStatementsInput {
  session: DbSession;
  option: StatementsOption;
  cwd?: string;
  signal?: AbortSignal;
}

/** The application's statements, read (observed and/or recorded) but not yet prepared. */
export interface CollectedStatements {
  statements: CheckedStatement[];
  skipped: Record<string, number>;
  details: Record<string, unknown>;
}

/** Reads the statements the option names: the recorded ones first, then those observed now. */
export async function collectStatements(input: CollectStatementsInput): Promise<CollectedStatements> {
  const { session } = input;
  const sources = statementSources(input.option);
  const statements: CheckedStatement[] = [];
  const details: Record<string, unknown> = {};
  const skipped: Record<string, number> = {};
  if (sources.recorded) {
    const recorded = await loadRecorded(sources.recorded, session.engine, input.cwd, input.signal);
    statements.push(...recorded.statements);
    for (const [why, n] of Object.entries(recorded.skipped)) skipped[why] = (skipped[why] ?? 0) + n;
    details.recorded = {
      file: sources.recorded,
      recordedAt: recorded.recordedAt,
      statements: recorded.statements.length,
    };
  }
  if (sources.observed) {
    const observed = await observeStatements(session, sources.observed);
    const known = new Set(statements.map((s) => s.text));
    statements.push(...observed.statements.filter((s) => !known.has(s.text)));
    for (const [why, n] of Object.entries(observed.skipped)) skipped[why] = (skipped[why] ?? 0) + n;
    details.observed = { source: observed.source, statements: observed.statements.length };
  }
  return { statements, skipped, details };
}
