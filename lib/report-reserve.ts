/** Milliseconds kept back from the Lambda budget to deliver the report (`runner.reportReserveMs`). */
export const DEFAULT_REPORT_RESERVE_MS = 10_000;
