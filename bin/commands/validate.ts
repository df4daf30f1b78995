import { readFile } from 'node:fs/promises';
import type { CheckType } from '../../checks/check-type';
import { loadConfig } from '../../lib/config';
import { ConfigError, errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../command';
import { parseCommandArgs } from '../command-args';
import { configPathFrom } from './check';
import { terminalStyle } from '../terminal-style';
import { UsageError } from '../usage-error';

const TARGET_TIMEOUT_MS = 5_000;
const OPTIONS = { config: { type: 'string' } } as const;
const ENV_REFERENCE = /\$\{env:([^}:]+)(:-[^}]*)?\}/g;

/** Every `${env:NAME}` without a default whose variable is unset or empty (all of them, not just the first). */
export function missingEnvReferences(text: string, env: NodeJS.ProcessEnv): string[] {
  const missing = new Set<string>();
  for (const line of text.split('\n')) {
    const content = line.replace(/(^|\s)#.*$/, '');
    for (const [, name, fallback] of content.matchAll(ENV_REFERENCE)) {
      if (fallback === undefined && !env[name!]) missing.add(name!);
    }
  }
  return [...missing];
}

/** Whether a target answers HTTP at all: any status counts; a refused connection, a timeout or bad TLS does not. */
async function probeTarget(url: URL): Promise<{ ok: boolean; detail: string }> {
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(TARGET_TIMEOUT_MS),
    });
    await res.body?.cancel();
    return { ok: true, detail: `answered ${res.status} in ${Math.round(performance.now() - started)} ms` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (err as Error).name === 'TimeoutError'
        ? `no answer within ${TARGET_TIMEOUT_MS} ms`
        : (cause?.code ?? cause?.message ?? errorMessage(err));
    return { ok: false, detail: `did not answer: ${why}` };
  }
}

/**
 * `greenlight validate`: pre-flight before a deployment. The config is valid (exit 2 if not, with
 * every unset `${env:...}` listed), and every target answers HTTP (exit 1 if one does not).
 */
export function createValidateCommand(options: { checkTypes?: readonly CheckType[] } = {}): Command {
  const command: Command = {
    name: 'validate',
    summary: 'Pre-flight: the config is valid, every ${env:...} resolves, the targets answer.',
    usage:
      'greenlight validate [--config FILE]\n\nexit codes: 0 ready, 1 a target does not answer, 2 usage or config error',
    async run(args, io) {
      const style = terminalStyle(io);
      const ok = (text: string) =>
        io.stdout.write(`${style.paint('good', style.color ? '✓' : 'ok  ')} ${text}\n`);
      const bad = (text: string) =>
        io.stdout.write(`${style.paint('bad', style.color ? '✗' : 'FAIL')} ${text}\n`);
      let path: string;
      try {
        path = configPathFrom(parseCommandArgs(args, OPTIONS).config as string | undefined, io);
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        io.stderr.write(`greenlight validate: ${err.message}\nusage: ${command.usage.split('\n')[0]}\n`);
        return EXIT_USAGE;
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      const missing = text === undefined ? [] : missingEnvReferences(text, io.env);
      if (missing.length) {
        bad(`environment variables not set: ${missing.join(', ')}`);
        return EXIT_USAGE;
      }
      let config;
      try {
        config = await loadConfig(path, {
          env: io.env,
          ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
        });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        bad(`config: ${redactText(err.message)}`);
        return EXIT_USAGE;
      }
      const checks = Object.keys(config.config.checks).length;
      const hooks = Object.values(config.config.hooks).filter((names) => names?.length).length;
      ok(
        `config ${path} is valid: ${checks} check${checks === 1 ? '' : 's'} at ${hooks} lifecycle event${hooks === 1 ? '' : 's'}`,
      );
      let healthy = true;
      for (const [name, url] of Object.entries(config.targets)) {
        const probe = await probeTarget(url);
        (probe.ok ? ok : bad)(`target ${name} ${redactText(url.href)} ${probe.detail}`);
        healthy &&= probe.ok;
      }
      return healthy ? EXIT_OK : EXIT_FAILED;
    },
  };
  return command;
}

export const validateCommand = createValidateCommand();
