import type { Logger } from '../lib/log';
import { redact, redactText } from '../lib/redact';

/** One structured log line a hook wrote, as CloudWatch Logs would keep it. */
export interface HookLogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

/**
 * A Logger that keeps the hooks' structured log lines in memory (redacted like the Lambda
 * logger), so the rehearsal can show each check's evidence the way an operator would read it
 * from the hook's logs.
 */
export function createHookLogRecorder(
  onLine: (line: HookLogLine) => void,
  base: Record<string, unknown> = {},
): Logger {
  const emit = (level: HookLogLine['level']) => (message: string, attributes?: Record<string, unknown>) => {
    onLine({ level, message: redactText(message), attributes: redact({ ...base, ...attributes }) });
  };
  return {
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (attributes) => createHookLogRecorder(onLine, { ...base, ...attributes }),
  };
}
