import type { DbSession } from './connection';
import {
  StatementsUnavailableError,
  type PrepareOutcome,
  type RawStatement,
  type StatementReader,
} from './statement-reader';

const HIDDEN = '<insufficient privilege>';

// Top statements by calls in this database, run at top level by the given roles (or, with none
// given, by every role but the check's own). Rows another role ran read '<insufficient
// privilege>' without pg_read_all_stats; they are counted, not prepared.
const statementsSql = (view: string) => `
SELECT s.query AS text, s.calls::int8 AS calls, r.rolname AS role
FROM ${view} s JOIN pg_catalog.pg_roles r ON r.oid = s.userid
WHERE s.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
  AND s.toplevel
  AND CASE WHEN pg_catalog.cardinality($1::text[]) > 0 THEN r.rolname = ANY($1::text[]) ELSE r.rolname <> current_user END
  AND (s.query = '${HIDDEN}' OR s.query ~* '^[[:space:](]*(select|insert|update|delete|with|values|table|merge)[[:>:]]')
ORDER BY s.calls DESC, s.queryid
LIMIT $2`;

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Statements from pg_stat_statements, and PREPARE / DEALLOCATE on the same session. */
export function postgresReader(session: DbSession, searchPath: readonly string[]): StatementReader {
  let prepared = 0;
  return {
    source: 'pg_stat_statements',
    async read({ roles, top }) {
      const [ext] = await session.query<{ schema: string }>(
        `SELECT n.nspname AS schema FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements'`,
      );
      if (!ext) {
        throw new StatementsUnavailableError(
          `pg_stat_statements is not installed in database ${session.database}: add pg_stat_statements to shared_preload_libraries (RDS/Aurora: in the DB parameter group, then reboot) and run CREATE EXTENSION pg_stat_statements; in ${session.database}`,
        );
      }
      let rows: Array<{ text: string; calls: string; role: string }>;
      try {
        rows = await session.query(statementsSql(`${quoteIdent(ext.schema)}.pg_stat_statements`), [
          roles,
          top,
        ]);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === '55000')
          throw new StatementsUnavailableError(
            'pg_stat_statements is installed but not loaded: add pg_stat_statements to shared_preload_libraries (RDS/Aurora: in the DB parameter group) and restart the server',
            { cause: err },
          );
        if (code === '42501')
          throw new StatementsUnavailableError(
            `${session.currentUser} may not read pg_stat_statements: GRANT pg_read_all_stats TO ${session.currentUser}`,
            { cause: err },
          );
        throw err;
      }
      const hidden = rows.filter((r) => r.text === HIDDEN).length;
      if (hidden > 0 && hidden === rows.length) {
        throw new StatementsUnavailableError(
          `pg_stat_statements hides the text of ${hidden} statement(s) of ${[...new Set(rows.map((r) => r.role))].join(', ')} from ${session.currentUser}: GRANT pg_read_all_stats TO ${session.currentUser}`,
        );
      }
      return {
        statements: rows
          .filter((r) => r.text !== HIDDEN)
          .map((r): RawStatement => ({ text: r.text, calls: Number(r.calls), role: r.role })),
        hidden,
      };
    },
    async prepareAll(texts) {
      await session.query("SELECT pg_catalog.set_config('search_path', $1, false)", [
        searchPath.map(quoteIdent).join(', '),
      ]);
      const outcomes: PrepareOutcome[] = [];
      try {
        for (const text of texts) {
          try {
            await session.query(`PREPARE greenlight_observed_${++prepared} AS ${text}`);
            outcomes.push({ ok: true });
          } catch (err) {
            const cause = (err as { cause?: { code?: string; message?: string; hint?: string } }).cause ?? {};
            outcomes.push({
              ok: false,
              code: cause.code ?? (err as { code?: string }).code ?? '',
              message: cause.message ?? String(err),
              ...(cause.hint ? { hint: cause.hint } : {}),
            });
          }
        }
      } finally {
        await session.query('DEALLOCATE ALL').catch(() => {});
      }
      return outcomes;
    },
  };
}
