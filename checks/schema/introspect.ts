import type { DbSession } from './connection';
import type { LiveSchema } from './model';
import { introspectMysql } from './mysql';
import { introspectPostgres } from './postgres';

/**
 * Reads the live schema over an open session: on PostgreSQL the given schemas from pg_catalog,
 * on MySQL the connection's database from information_schema; on both, also the schemas (MySQL:
 * databases) that `named` lists, those a contract's `schema.table` names point to. One query
 * per catalog.
 */
export function introspect(
  session: DbSession,
  schemas: readonly string[],
  named: readonly string[] = [],
): Promise<LiveSchema> {
  return session.engine === 'postgres'
    ? introspectPostgres(session, [...new Set([...schemas, ...named])])
    : introspectMysql(session, named);
}
