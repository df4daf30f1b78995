/** The command line itself is wrong (unknown option, missing value): exit code 2 with usage. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UsageError';
  }
}
