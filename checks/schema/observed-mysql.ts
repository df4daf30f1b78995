import type { DbSession } from './connection';
import { StatementsUnavailableError, type PrepareOutcome, type StatementReader } from './statement-reader';

// Digests of the connection's database, most executed first. DIGEST_TEXT never holds literals;
// statements on the server's own schemas (this check's catalog reads among them) are left out.
const DIGESTS_SQL = `
SELECT DIGEST_TEXT AS text, COUNT_STAR AS calls
FROM performance_schema.events_statements_summary_by_digest
WHERE SCHEMA_NAME = DATABASE() AND DIGEST_TEXT IS NOT NULL
  AND DIGEST_TEXT REGEXP '^[[:space:](]*(SELECT|INSERT|UPDATE|DELETE|WITH|VALUES|TABLE|REPLACE)[^A-Za-z0-9_]'
  AND DIGEST_TEXT NOT REGEXP '(information_schema|performance_schema)'
ORDER BY COUNT_STAR DESC, DIGEST
LIMIT ?`;

const ACCESS_DENIED = new Set([
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
]);

/** Statements from performance_schema's digest summary, and PREPARE / DEALLOCATE PREPARE on the same session. */
export function mysqlReader(session: DbSession): StatementReader {
  return {
    source: 'performance_schema',
    async read({ top }) {
      const user = session.currentUser;
      try {
        const [state] = await session.query<{ on: number | string }>(
          'SELECT @@GLOBAL.performance_schema AS `on`',
        );
        if (Number(state?.on) !== 1) {
          throw new StatementsUnavailableError(
            'performance_schema is off: set performance_schema = ON in the server configuration (RDS: the DB parameter group) and restart the server',
          );
        }
        const [consumer] = await session.query<{ enabled: string }>(
          "SELECT ENABLED AS enabled FROM performance_schema.setup_consumers WHERE NAME = 'statements_digest'",
        );
        if (consumer && consumer.enabled !== 'YES') {
          throw new StatementsUnavailableError(
            "performance_schema does not keep statement digests: UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME = 'statements_digest' (and performance-schema-consumer-statements-digest = ON in the configuration)",
          );
        }
        const rows = await session.query<{ text: string; calls: string | number }>(DIGESTS_SQL, [top]);
        return { statements: rows.map((r) => ({ text: r.text, calls: Number(r.calls) })), hidden: 0 };
      } catch (err) {
        if (ACCESS_DENIED.has((err as { code?: string }).code ?? ''))
          throw new StatementsUnavailableError(
            `${user} may not read performance_schema: GRANT SELECT ON performance_schema.* TO ${user.replace(/^(.*)@(.*)$/, "'$1'@'$2'")}`,
            { cause: err },
          );
        throw err;
      }
    },
    async prepareAll(texts) {
      const outcomes: PrepareOutcome[] = [];
      try {
        for (const text of texts) {
          // PREPARE ... FROM a string: the server takes exactly one statement from it.
          try {
            await session.query('PREPARE greenlight_observed FROM ?', [text]);
            outcomes.push({ ok: true });
          } catch (err) {
            const cause =
              (err as { cause?: { code?: string; errno?: number; sqlMessage?: string } }).cause ?? {};
            outcomes.push({
              ok: false,
              code: String(cause.errno ?? cause.code ?? ''),
              message: cause.sqlMessage ?? String(err),
            });
          }
        }
      } finally {
        await session.query('DEALLOCATE PREPARE greenlight_observed').catch(() => {});
      }
      return outcomes;
    },
  };
}
