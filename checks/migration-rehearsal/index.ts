// The `migration-rehearsal` check type: green's pending migrations tried on a copy of the live schema.
import { parseS3Url } from '../../lib/s3-object';
import { defineCheckType } from '../check-type';
import { resolveConnection } from '../schema/connection';
import { migrationRehearsalOptions } from './options';
import { runMigrationRehearsal } from './run-migration-rehearsal';

/**
 * The `migration-rehearsal` check: before green's migration touches production (typically at
 * `BeforeInstall`), rebuilds the live PostgreSQL schema in an embedded PostgreSQL (PGlite) inside
 * the function, applies the pending migrations there, and prepares blue's statements on the
 * result. A type of its own rather than a `schema` option: it needs PostgreSQL in WebAssembly
 * (~11 MB in the zip, 1 GiB of memory), which only a function running this type should carry.
 */
export const migrationRehearsalCheckType = defineCheckType({
  type: 'migration-rehearsal',
  summary:
    'Applies green’s pending migrations to a copy of the live PostgreSQL schema (PGlite) and prepares blue’s statements against it, before the migration runs.',
  options: migrationRehearsalOptions,
  create(options, factory) {
    // PostgreSQL only: without a url the parts are PostgreSQL's; a url must say postgres://.
    const resolved = resolveConnection(
      options.url === undefined ? { ...options, engine: 'postgres' } : options,
    );
    if ('field' in resolved) throw factory.fail(resolved.field, resolved.message);
    if (resolved.engine !== 'postgres')
      throw factory.fail('url', 'migration rehearsal needs PostgreSQL (a postgres:// url)');
    if (options.migrations.startsWith('s3://') && !parseS3Url(options.migrations))
      throw factory.fail('migrations', `expected s3://bucket/prefix/, got ${options.migrations}`);
    const settings = resolved;
    return {
      name: factory.name,
      type: 'migration-rehearsal',
      run: (ctx) => runMigrationRehearsal(options, settings, ctx),
    };
  },
});
