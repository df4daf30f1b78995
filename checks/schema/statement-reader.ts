// What each engine's statement source provides to the statements part of the schema check.

/** The statistics the engine keeps are off, not installed, or not readable: the check cannot tell. */
export class StatementsUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StatementsUnavailableError';
  }
}

/** A statement as the statistics hold it (already normalised by the server). */
export interface RawStatement {
  text: string;
  calls: number;
  role?: string;
}

export type PrepareOutcome = { ok: true } | { ok: false; code: string; message: string; hint?: string };

/** Where statements come from and how they are prepared, per engine. */
export interface StatementReader {
  source: 'pg_stat_statements' | 'performance_schema';
  read(options: { roles: string[]; top: number }): Promise<{ statements: RawStatement[]; hidden: number }>;
  /** PREPAREs each text in order, deallocating after; one outcome per text. */
  prepareAll(texts: readonly string[]): Promise<PrepareOutcome[]>;
}
