import { z } from 'zod';
import { ConfigError, errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { defineCheckType } from '../check-type';
import {
  connectionOptions,
  describeConnection,
  resolveConnection,
  SessionError,
  type ConnectionSettings,
  type DbSession,
} from './connection';
import { openSession } from './open-session';
import { schemaPreflight } from './preflight';
import { schemasNamedIn, type ContractMigrations } from './contract';
import {
  ContractUnavailableError,
  contractSource,
  DEFAULT_CONTRACT_MAX_BYTES,
  DEFAULT_CONTRACT_TIMEOUT_MS,
  loadContract,
  type ContractSource,
  type LoadedContract,
} from './contract-source';
import { introspect } from './introspect';
import { readMigrationHistory } from './migrations';
import { ENGINE_NAMES, type LiveSchema } from './model';
import { evaluateContract } from './contract-rules';
import { evaluateInFlight, evaluateMigrations } from './migration-rules';
import type { Finding, Severity, SeverityPolicy, Version, VersionContract } from './finding';
import type { Assertion, CheckContext, CheckReport } from '../types';
import { checkStatements, type StatementsResult } from './check-statements';
import { recordStatements } from './observed-statements';
import { saveRecorded } from './recorded-statements';
import { statementSources, statementsOption } from './statements-option';

const severity = z.enum(['fail', 'warn'], { error: 'expected "fail" or "warn"' });

const schemaOptions = z.strictObject({
  ...connectionOptions,
  schemas: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, { error: 'expected a schema name' }))
    .min(1)
    .optional()
    .describe(
      'PostgreSQL schemas to read (default: the contracts’ `schemas`, else `public`); a schema a contract names in `schema.table` is read as well.',
    ),
  contracts: z
    .strictObject({
      green: contractSource.describe('The new version’s contract, e.g. `{ target: test }`.'),
      blue: contractSource
        .optional()
        .describe('The running version’s contract, e.g. `{ target: prod }`; without it blue is not checked.'),
    })
    .optional()
    .describe('Where each version’s contract comes from; required unless `statements` is set.'),
  statements: statementsOption.optional(),
  record: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Also save the observed statements to this file or `s3://bucket/key` (at BeforeInstall: blue’s, before green’s migration), for a later check’s `statements: { recorded }`.',
    ),
  sqlMode: z
    .string()
    .optional()
    .describe(
      'MySQL: the sql_mode the apps’ sessions run with, when they set their own (default: the server’s @@sql_mode).',
    ),
  contractTimeoutMs: z
    .int()
    .min(100)
    .max(60_000)
    .default(DEFAULT_CONTRACT_TIMEOUT_MS)
    .describe('Timeout for fetching a contract over HTTP.'),
  contractMaxBytes: z
    .int()
    .min(1_024)
    .max(16_777_216)
    .default(DEFAULT_CONTRACT_MAX_BYTES)
    .describe('Largest contract document accepted.'),
  severity: z
    .strictObject({
      constraints: severity
        .default('warn')
        .describe('New or NOT VALID constraints on columns a version writes.'),
      inFlight: severity
        .default('fail')
        .describe('gh-ost / pt-osc shadow tables, running ALTERs, unfinished pgroll migrations.'),
      unknownMigrations: severity
        .default('warn')
        .describe('Applied migrations that no contract gives a phase.'),
    })
    .prefault({})
    .describe(
      'Whether findings that do not always break a version fail the check or are reported as warnings.',
    ),
});

type SchemaOptions = z.output<typeof schemaOptions>;

interface VersionLoad {
  version: Version;
  loaded?: LoadedContract;
  /** Why this version is not checked (no contract configured, or an optional one absent). */
  skipped?: string;
}

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

function policyOf(options: SchemaOptions): SeverityPolicy {
  const map = (s: 'fail' | 'warn'): Severity => (s === 'fail' ? 'failure' : 'warning');
  return {
    constraints: map(options.severity.constraints),
    inFlight: map(options.severity.inFlight),
    unknownMigrations: map(options.severity.unknownMigrations),
  };
}

async function loadVersion(
  version: Version,
  source: ContractSource | undefined,
  options: SchemaOptions,
  ctx: CheckContext,
): Promise<VersionLoad> {
  if (!source) return { version, skipped: `${version} not checked: no contract configured for ${version}` };
  try {
    const loaded = await loadContract(source, {
      targets: ctx.targets,
      signal: ctx.signal,
      deadline: ctx.deadline,
      timeoutMs: options.contractTimeoutMs,
      maxBytes: options.contractMaxBytes,
      log: ctx.log,
    });
    return { version, loaded };
  } catch (err) {
    if (source.optional && (err as { statusCode?: number }).statusCode === 404) {
      return { version, skipped: `${version} not checked: ${errorMessage(err)}` };
    }
    if (err instanceof ConfigError) throw new ConfigError(`${version}'s ${err.message}`, { cause: err });
    throw new ContractUnavailableError(`${version}'s contract: ${errorMessage(err)}`, { cause: err });
  }
}

async function runSchemaCheck(
  options: SchemaOptions,
  base: ConnectionSettings,
  ctx: CheckContext,
): Promise<CheckReport> {
  const started = performance.now();
  let versions: VersionLoad[];
  try {
    versions = await Promise.all([
      loadVersion('green', options.contracts?.green, options, ctx),
      loadVersion('blue', options.contracts?.blue, options, ctx),
    ]);
  } catch (err) {
    const invalid = err instanceof ConfigError;
    return {
      outcome: 'error',
      message: redactText(invalid ? `invalid contract: ${errorMessage(err)}` : errorMessage(err)),
      details: { reason: invalid ? 'invalid-contract' : 'contract-unavailable' },
    };
  }
  const checked: VersionContract[] = versions
    .filter((v) => v.loaded)
    .map((v) => ({ version: v.version, contract: v.loaded!.contract }));
  // With statements and no contracts at all, there is no version to call unchecked.
  const skipped = options.contracts ? versions.filter((v) => v.skipped).map((v) => v.skipped!) : [];
  if (checked.length === 0 && !options.statements) {
    return { outcome: 'inconclusive', message: `no contract to check: ${skipped.join('; ')}` };
  }
  for (const { version, contract } of checked) {
    if (contract.engine && contract.engine !== base.engine) {
      return {
        outcome: 'error',
        message: `${version}'s contract is for ${ENGINE_NAMES[contract.engine]}, but the database is ${ENGINE_NAMES[base.engine]}`,
      };
    }
  }

  const remaining = ctx.deadline - Date.now();
  const settings: ConnectionSettings = {
    ...base,
    connectTimeoutMs: Math.max(100, Math.min(base.connectTimeoutMs, remaining)),
  };
  const target = describeConnection(settings);
  const assertions: Assertion[] = [];
  let session: DbSession | undefined;
  try {
    session = await openSession(settings, ctx.signal);
    assertions.push({
      what: `connect ${target}`,
      expected: 'connected',
      actual: `connected${settings.tls.mode === 'disable' ? ' without TLS' : ` with TLS (${settings.tls.mode})`}`,
      ok: true,
    });
    assertions.push({
      what: 'session is read-only',
      expected: true,
      actual: session.readOnly,
      ok: session.readOnly,
    });
    if (!session.readOnly) {
      return {
        outcome: 'error',
        message: `the session on ${target} could not be made read-only; nothing was checked`,
        assertions,
      };
    }

    const schemas = options.schemas ?? unique(checked.flatMap((v) => v.contract.schemas ?? []));
    const named = unique(checked.flatMap((v) => schemasNamedIn(v.contract)));
    const live = await introspect(session, schemas.length ? schemas : ['public'], named);
    if (live.engine === 'mysql' && options.sqlMode !== undefined) {
      live.sqlMode = options.sqlMode;
      live.strictWrites = /STRICT_(TRANS|ALL)_TABLES/i.test(options.sqlMode);
    }
    const policy = policyOf(options);
    const findings: Finding[] = [];
    for (const version of checked) findings.push(...evaluateContract(live, version, policy));
    findings.push(...(await migrationFindings(session, live, checked, policy)));
    findings.push(...evaluateInFlight(live, policy));
    const statements = options.statements
      ? await checkStatements({ session, live, option: options.statements, searchPath: live.schemas })
      : undefined;
    if (statements) findings.push(...statements.findings);
    if (options.record) assertions.push(await recordObserved(session, options, ctx.signal));

    return report({
      live,
      session,
      target,
      findings,
      versions,
      checked,
      skipped,
      assertions,
      statements,
      ms: Math.round(performance.now() - started),
    });
  } catch (err) {
    const message = err instanceof SessionError ? err.message : `${target}: ${errorMessage(err)}`;
    return {
      outcome: 'error',
      message: redactText(
        ctx.signal.aborted ? `${target}: stopped (${errorMessage(ctx.signal.reason)})` : message,
      ),
      assertions,
    };
  } finally {
    await session?.close();
  }
}

/** `record`: the statements observed now, saved for a check after the migration. */
async function recordObserved(
  session: DbSession,
  options: SchemaOptions,
  signal: AbortSignal,
): Promise<Assertion> {
  const observed = statementSources(options.statements!).observed!;
  const recorded = await recordStatements(session, observed);
  await saveRecorded(recorded, options.record!, { signal });
  return {
    what: `record statements to ${options.record}`,
    expected: 'saved',
    actual: `${recorded.statements.length} statements saved`,
    ok: true,
  };
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

async function migrationFindings(
  session: DbSession,
  live: LiveSchema,
  checked: VersionContract[],
  policy: SeverityPolicy,
): Promise<Finding[]> {
  // The tool and table come from green's contract when it names one; blue's if only blue does.
  const owner = checked.find((v) => v.contract.migrations);
  if (!owner) return [];
  const migrations = owner.contract.migrations as ContractMigrations;
  const schema =
    live.engine === 'mysql' ? live.database : (owner.contract.schemas?.[0] ?? live.schemas[0] ?? 'public');
  const history = await readMigrationHistory(session, migrations, schema);
  return evaluateMigrations(history, checked, policy);
}

interface ReportInput {
  live: LiveSchema;
  session: DbSession;
  target: string;
  findings: Finding[];
  versions: VersionLoad[];
  checked: VersionContract[];
  skipped: string[];
  assertions: Assertion[];
  statements: StatementsResult | undefined;
  ms: number;
}

function report({
  live,
  session,
  target,
  findings,
  versions,
  checked,
  skipped,
  assertions,
  statements,
  ms,
}: ReportInput): CheckReport {
  const failures = findings.filter((f) => f.severity === 'failure');
  const warnings = findings.filter((f) => f.severity === 'warning');
  for (const f of failures) {
    assertions.push({
      what: `${f.rule} ${f.version === 'both' ? 'blue and green' : f.version}: ${f.subject}`,
      expected: f.expected,
      actual: f.actual,
      ok: false,
    });
  }
  // Statement findings are counted in their own assertion, not against blue's contract.
  const fromStatements = new Set(statements?.findings);
  for (const { version, contract } of checked) {
    const mine = failures.filter(
      (f) => !fromStatements.has(f) && (f.version === version || f.version === 'both'),
    ).length;
    const columns =
      Object.values(contract.reads).flat().length + Object.values(contract.writes).flat().length;
    assertions.push({
      what: `${version}'s contract against ${live.database}`,
      expected: 'compatible',
      actual: mine ? `${mine} problem${mine === 1 ? '' : 's'}` : `compatible (${columns} column uses)`,
      ok: mine === 0,
    });
  }
  const details: Record<string, unknown> = {
    database: target,
    serverVersion: live.serverVersion,
    tables: live.tables.size,
    introspectionQueries: live.queries,
    roundTrips: session.roundTrips,
    contracts: Object.fromEntries(
      versions.map((v) => [
        v.version,
        v.loaded
          ? { from: v.loaded.from, version: v.loaded.contract.version ?? null }
          : { skipped: v.skipped },
      ]),
    ),
    findings: findings.map(({ rule, version, subject, severity, message }) => ({
      rule,
      version,
      subject,
      severity,
      message,
    })),
  };
  if (statements) {
    assertions.push(...statements.assertions);
    details.statements = statements.details;
  }
  if (live.sqlMode !== undefined) details.sqlMode = live.sqlMode;
  if (live.notes.length) details.notes = live.notes;
  const names = [
    ...checked.map((v) => v.version),
    ...(statements
      ? [`${statements.checked} application statement${statements.checked === 1 ? '' : 's'}`]
      : []),
  ].join(' and ');
  const tail = [
    warnings.length
      ? `${warnings.length} warning${warnings.length === 1 ? '' : 's'}: ${warnings[0]!.message}${warnings.length > 1 ? ' ...' : ''}`
      : '',
    ...skipped,
  ].filter(Boolean);
  const suffix = tail.length ? `; ${tail.join('; ')}` : '';
  if (failures.length) {
    const more = failures.length > 1 ? ` (+${failures.length - 1} more)` : '';
    return {
      outcome: 'failed',
      message: redactText(`${failures[0]!.message}${more}${suffix}`),
      assertions,
      details,
    };
  }
  if (checked.length === 0 && statements?.checked === 0) {
    return {
      outcome: 'inconclusive',
      message: redactText(
        `no application statements to check on ${target} (none observed since the statistics were reset, or none recorded), and no contract${suffix}`,
      ),
      assertions,
      details,
    };
  }
  return {
    outcome: 'passed',
    message: redactText(
      `${target} serves ${names}: ${live.tables.size} tables read in ${live.queries} queries (${ms} ms)${suffix}`,
    ),
    assertions,
    details,
  };
}
