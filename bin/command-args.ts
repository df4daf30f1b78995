import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Strict option parsing with node's own `parseArgs`: an unknown option, a missing value or a
 * stray positional argument is a UsageError that names it.
 */
export function parseCommandArgs<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const message = (err as Error).message
      .split('\n')[0]!
      .replace(/\. To specify a positional argument.*$/, '');
    throw new UsageError(message, { cause: err });
  }
}
