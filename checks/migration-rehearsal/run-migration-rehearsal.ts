// Runs the migration rehearsal inside a hook: bounded by the hook's deadline and the function's memory.
import { resolve } from 'node:path';
import { errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { isS3Url } from '../../lib/s3-object';
import type { CheckContext, CheckReport } from '../types';
import {
  describeConnection,
  SessionError,
  type ConnectionSettings,
  type DbSession,
} from '../schema/connection';
import {
  folderMigrations,
  inferRehearsalTool,
  s3Migrations,
  type MigrationSource,
} from '../schema/migration-files';
import { openSession } from '../schema/open-session';
import { rehearseMigration, RehearsalStopped } from '../schema/rehearse-migration';
import type { MigrationRehearsalOptions } from './options';
import { rehearsalReport } from './rehearsal-report';

/**
 * The least memory the function needs: PGlite reserves 128 MiB of WebAssembly memory, compiles
 * 9 MiB of WebAssembly and unpacks PostgreSQL's files, beside Node itself. Measured: ~460 MiB peak
 * for a shadow of 500 tables. Lambda stops a function that passes its memory with no chance to
 * report, so the check refuses to start below this.
 */
export const MIN_MEMORY_MB = 1024;
/** The least of the hook's budget worth starting with: PGlite starts and the shadow is built in seconds. */
export const MIN_BUDGET_MS = 20_000;
/** Time kept back from the hook's deadline so that the check reports its own stop. */
const STOP_MARGIN_MS = 2_000;

const ADVICE =
  'raise the function’s timeout (param timeout) and memorySize (Lambda gives CPU in proportion to memory)';

export async function runMigrationRehearsal(
  options: MigrationRehearsalOptions,
  base: ConnectionSettings,
  ctx: CheckContext,
): Promise<CheckReport> {
  const target = describeConnection(base);
  const memoryMb = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  if (memoryMb && memoryMb < MIN_MEMORY_MB) {
    return {
      outcome: 'error',
      message: `not started: the function has ${memoryMb} MiB of memory and the rehearsal runs PostgreSQL (PGlite) inside it, which needs ${MIN_MEMORY_MB} MiB; raise param memorySize to ${MIN_MEMORY_MB} or more`,
      assertions: [
        { what: 'function memory', expected: `≥ ${MIN_MEMORY_MB} MiB`, actual: `${memoryMb} MiB`, ok: false },
      ],
    };
  }
  const budgetMs = ctx.deadline - Date.now();
  if (budgetMs < MIN_BUDGET_MS) {
    return {
      outcome: 'inconclusive',
      message: `not started: ${Math.max(0, budgetMs)} ms of the hook’s budget left, and a rehearsal needs ${MIN_BUDGET_MS} ms at least; ${ADVICE}, or the check’s timeoutMs if it has one`,
      assertions: [
        {
          what: 'time left',
          expected: `≥ ${MIN_BUDGET_MS} ms`,
          actual: `${Math.max(0, budgetMs)} ms`,
          ok: false,
        },
      ],
    };
  }

  // Stops the rehearsal between two steps a little before the hook's deadline, or with the run.
  const stop = new AbortController();
  const timer = setTimeout(
    () => stop.abort(new Error('the hook’s deadline is near')),
    budgetMs - STOP_MARGIN_MS,
  );
  const onAbort = () => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();
  const settings: ConnectionSettings = {
    ...base,
    connectTimeoutMs: Math.max(100, Math.min(base.connectTimeoutMs, budgetMs)),
  };
  let session: DbSession | undefined;
  try {
    const source = migrationSource(options.migrations, stop.signal);
    const files = await source.list();
    const listed: MigrationSource = { ...source, list: async () => files };
    const tool = options.tool ?? inferRehearsalTool(files);
    session = await openSession(settings, stop.signal);
    const result = await rehearseMigration({
      live: session,
      migrations: listed,
      tool,
      large: { rows: options.largeTables.rows, bytes: options.largeTables.mb * 1024 * 1024 },
      signal: stop.signal,
      ...(options.historyTable ? { historyTable: options.historyTable } : {}),
      ...(options.schemas ? { searchPath: options.schemas } : {}),
      ...(options.statements ? { statements: options.statements } : {}),
    });
    return rehearsalReport(result, {
      target,
      tool,
      migrations: source.location,
      locks: options.severity.locks,
    });
  } catch (err) {
    if (stop.signal.aborted) {
      // Stopped before the rehearsal began (listing the migrations, connecting) or during it.
      const phase = err instanceof RehearsalStopped ? err.phase : 'listing the migrations and connecting';
      const elapsedMs =
        err instanceof RehearsalStopped ? err.elapsedMs : budgetMs - (ctx.deadline - Date.now());
      return {
        outcome: 'inconclusive',
        message: redactText(
          `rehearsal on a copy of ${target} stopped while ${phase}, after ${elapsedMs} ms of a ${budgetMs} ms budget (${errorMessage(stop.signal.reason)}): no verdict; ${ADVICE}`,
        ),
        details: { phase, elapsedMs, budgetMs },
      };
    }
    const message = err instanceof SessionError ? err.message : `${target}: ${errorMessage(err)}`;
    return { outcome: 'error', message: redactText(message) };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    await session?.close();
  }
}

function migrationSource(location: string, signal: AbortSignal): MigrationSource {
  return isS3Url(location) ? s3Migrations(location, signal) : folderMigrations(resolve(location));
}
