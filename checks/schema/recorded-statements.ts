import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { getS3Text, isS3Url, putS3Text } from '../../lib/s3-object';
import type { Engine } from './model';
import { safeStatement, statementTables } from './statement-text';
import { StatementsUnavailableError, type RawStatement } from './statement-reader';

// Blue's statements as `greenlight schema record` saves them (a file or an S3 object), and the
// form every statement takes before it is prepared, recorded or observed.

export const RECORDED_FORMAT = 'greenlight.statements/1';

/** The file `greenlight schema record` writes and `statements: { recorded }` reads. */
export const recordedStatementsSchema = z.strictObject({
  format: z.literal(RECORDED_FORMAT),
  engine: z.enum(['postgres', 'mysql']),
  database: z.string(),
  source: z.enum(['pg_stat_statements', 'performance_schema']),
  recordedAt: z.string(),
  statements: z.array(
    z.strictObject({ text: z.string().min(1), calls: z.number().nonnegative(), role: z.string().optional() }),
  ),
});
export type RecordedStatements = z.output<typeof recordedStatementsSchema>;

/** A statement fit to prepare and to show, and where it came from. */
export interface CheckedStatement {
  text: string;
  kind: string;
  calls: number;
  role?: string;
  from: 'observed' | 'recorded';
}

/**
 * Keeps the statements that can be shown and prepared: literals become placeholders, non-DML and
 * multi-statement text is left out (and counted), duplicates once.
 */
export function keepSafe(
  raw: readonly RawStatement[],
  engine: Engine,
  from: CheckedStatement['from'],
  skipped: Record<string, number>,
): { statements: CheckedStatement[]; skipped: Record<string, number> } {
  const seen = new Set<string>();
  const statements: CheckedStatement[] = [];
  for (const r of raw) {
    const safe = safeStatement(r.text, engine);
    if ('skip' in safe) {
      skipped[safe.skip] = (skipped[safe.skip] ?? 0) + 1;
      continue;
    }
    if (safe.kind !== 'table' && statementTables(safe.text, engine).length === 0) {
      skipped['names no table'] = (skipped['names no table'] ?? 0) + 1;
      continue;
    }
    if (seen.has(safe.text)) continue;
    seen.add(safe.text);
    statements.push({
      text: safe.text,
      kind: safe.kind,
      calls: r.calls,
      ...(r.role ? { role: r.role } : {}),
      from,
    });
  }
  return { statements, skipped };
}

/** Largest recorded document read from S3 (10,000 statements of a few KiB each). */
const RECORDED_MAX_BYTES = 64 * 1024 * 1024;

/** Writes what `recordStatements` returned to a file (relative to `cwd`) or an `s3://bucket/key` object. */
export async function saveRecorded(
  recorded: RecordedStatements,
  location: string,
  options: { cwd?: string; signal?: AbortSignal } = {},
): Promise<void> {
  const text = JSON.stringify(recorded, null, 2) + '\n';
  if (isS3Url(location)) {
    await putS3Text(location, text, options.signal ? { signal: options.signal } : {});
    return;
  }
  await writeFile(isAbsolute(location) ? location : resolve(options.cwd ?? process.cwd(), location), text);
}

/**
 * Reads a recorded file (relative to `cwd`) or `s3://bucket/key` object, validating it and
 * re-normalising every text.
 */
export async function loadRecorded(
  file: string,
  engine: Engine,
  cwd = process.cwd(),
  signal?: AbortSignal,
): Promise<{ statements: CheckedStatement[]; skipped: Record<string, number>; recordedAt: string }> {
  const path = isAbsolute(file) ? file : resolve(cwd, file);
  let parsed: RecordedStatements;
  try {
    const text = isS3Url(file)
      ? await getS3Text(file, { maxBytes: RECORDED_MAX_BYTES, ...(signal ? { signal } : {}) })
      : await readFile(path, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // Newer engines quote the text around a JSON error; none of it is repeated here.
      throw new Error('not valid JSON');
    }
    const result = recordedStatementsSchema.safeParse(json);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new Error(`${issue.path.join('.') || 'document'}: ${issue.message}`);
    }
    parsed = result.data;
  } catch (err) {
    throw new StatementsUnavailableError(`recorded statements ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (parsed.engine !== engine)
    throw new StatementsUnavailableError(
      `recorded statements ${file} are from ${parsed.engine === 'postgres' ? 'PostgreSQL' : 'MySQL'}, but the database is ${engine === 'postgres' ? 'PostgreSQL' : 'MySQL'}`,
    );
  return { ...keepSafe(parsed.statements, engine, 'recorded', {}), recordedAt: parsed.recordedAt };
}
