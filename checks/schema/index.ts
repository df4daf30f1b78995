// The `schema` check type: its options, the checks made when it is configured, and its run.
import { defineCheckType } from '../check-type';
import { resolveConnection } from './connection';
import { schemaPreflight } from './preflight';
import { runSchemaCheck } from './run-schema-check';
import { schemaOptions } from './schema-options';
import { statementSources } from './statements-option';

/**
 * The `schema` check: compares the live database with what blue and green each need (their
 * contracts) while both run against it, over a read-only, time-bounded session.
 */
export const schemaCheckType = defineCheckType({
  type: 'schema',
  summary:
    'Checks that the live database (PostgreSQL or MySQL/MariaDB) still serves both blue and green, from their schema contracts.',
  options: schemaOptions,
  preflight: schemaPreflight,
  create(options, factory) {
    const resolved = resolveConnection(options);
    if ('field' in resolved) throw factory.fail(resolved.field, resolved.message);
    if (resolved.engine === 'mysql' && (options.tls.serverName ?? options.tls.servername)) {
      throw factory.fail(
        options.tls.serverName ? 'tls.serverName' : 'tls.servername',
        'is supported for PostgreSQL only; MySQL verifies the host it connects to',
      );
    }
    if (resolved.engine !== 'mysql' && options.sqlMode !== undefined)
      throw factory.fail('sqlMode', 'applies to MySQL/MariaDB only');
    if (!options.contracts && !options.statements)
      throw factory.fail('contracts', 'required unless statements is set (e.g. statements: observed)');
    if (
      options.record !== undefined &&
      !(options.statements && statementSources(options.statements).observed)
    )
      throw factory.fail('record', 'saves the observed statements: set statements: observed as well');
    if (
      resolved.engine === 'mysql' &&
      typeof options.statements === 'object' &&
      options.statements.observed?.roles
    )
      throw factory.fail(
        'statements.observed.roles',
        'applies to PostgreSQL only; MySQL digests are read per database',
      );
    for (const version of ['green', 'blue'] as const) {
      const source = options.contracts?.[version];
      if (source?.target !== undefined && !factory.targets.includes(source.target)) {
        throw factory.fail(
          `contracts.${version}.target`,
          `unknown target "${source.target}"; defined targets: ${factory.targets.join(', ') || 'none'}`,
        );
      }
    }
    const settings = resolved;
    return {
      name: factory.name,
      type: 'schema',
      run: (ctx) => runSchemaCheck(options, settings, ctx),
    };
  },
});
