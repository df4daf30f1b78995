// Runs the schema check: loads the contracts, opens a read-only session, applies the rules.
import { ConfigError, errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import type { Assertion, CheckContext, CheckReport } from '../types';
import { checkStatements } from './check-statements';
import { describeConnection, SessionError, type ConnectionSettings, type DbSession } from './connection';
import { schemasNamedIn, type ContractMigrations } from './contract';
import { evaluateContract } from './contract-rules';
import type { Finding, SeverityPolicy, VersionContract } from './finding';
import { introspect } from './introspect';
import { loadVersion, type VersionLoad } from './load-version';
import { evaluateInFlight, evaluateMigrations } from './migration-rules';
import { readMigrationHistory } from './migrations';
import { ENGINE_NAMES, type LiveSchema } from './model';
import { recordStatements } from './observed-statements';
import { openSession } from './open-session';
import { saveRecorded } from './recorded-statements';
import { policyOf, type SchemaOptions } from './schema-options';
import { schemaReport } from './schema-report';
import { statementSources } from './statements-option';

/** One run of the schema check: contracts loaded, a read-only session opened, the rules applied. */
export async function runSchemaCheck(
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

    return schemaReport({
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
