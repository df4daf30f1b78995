import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { runChecks, type PlannedCheck, type Verdict } from '../../checks/runner';
import { LIFECYCLE_EVENTS, type LifecycleEvent } from '../../checks/types';
import type { CheckType } from '../../checks/check-type';
import { loadConfig, type LoadedConfig } from '../../config/config';
import { awsSecretResolvers } from '../../hooks/hook-config';
import { ConfigError, errorMessage } from '../../lib/errors';
import { silentLogger } from '../../lib/log';
import { redactText } from '../../lib/redact';
import { renderCheckTable, verdictLine } from '../check-table';
import { createCheckProgress } from '../check-progress';
import {
  discoverDeploymentTargets,
  parseDeploymentId,
  requireDeploymentForAuto,
} from '../deployment-targets';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command, type CommandIO } from '../command';
import { parseCommandArgs } from '../command-args';
import { junitReport } from '../junit-report';
import { terminalStyle } from '../../checks/terminal-style';
import { UsageError } from '../usage-error';
import { toVerdictDocument } from '../verdict-json';

/** Lambda's 15-minute ceiling: the CLI gives a lifecycle event no more time than a hook could have. */
const CLI_BUDGET_MS = 900_000;
const DEFAULT_HOOK: LifecycleEvent = 'AfterAllowTestTraffic';

const OPTIONS = {
  config: { type: 'string' },
  hook: { type: 'string' },
  'test-url': { type: 'string' },
  'prod-url': { type: 'string' },
  'deployment-id': { type: 'string' },
  only: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  junit: { type: 'string' },
} as const;

/** `--hook` value to a lifecycle event, case-insensitively; anything else is a usage error. */
export function parseHook(value: string | undefined): LifecycleEvent {
  if (value === undefined) return DEFAULT_HOOK;
  const hook = LIFECYCLE_EVENTS.find((e) => e.toLowerCase() === value.toLowerCase());
  if (!hook) throw new UsageError(`--hook: expected one of ${LIFECYCLE_EVENTS.join(', ')}, got "${value}"`);
  return hook;
}

/** `--test-url` / `--prod-url`: an absolute http(s) URL. */
export function parseTargetUrl(option: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${option}: expected an http(s) URL such as http://127.0.0.1:8080, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${option}: expected an http(s) URL, got the ${url.protocol.slice(0, -1)} scheme`);
  }
  return url;
}

/** The config path: `--config`, else `GREENLIGHT_CONFIG`, else `greenlight.yml` in the working directory. */
export function configPathFrom(option: string | undefined, io: Pick<CommandIO, 'env' | 'cwd'>): string {
  return resolve(io.cwd, option ?? (io.env.GREENLIGHT_CONFIG || 'greenlight.yml'));
}

/** `--only a,b --only c`: those checks of the hook, in configured order; an unknown name is a usage error. */
export function selectChecks(
  planned: PlannedCheck[],
  only: readonly string[] | undefined,
  hook: string,
  config: LoadedConfig,
): PlannedCheck[] {
  if (!only?.length) return planned;
  const wanted = only
    .flatMap((o) => o.split(','))
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of wanted) {
    if (planned.some((p) => p.check.name === name)) continue;
    const elsewhere = LIFECYCLE_EVENTS.filter((e) => config.plan(e).some((p) => p.check.name === name));
    const listed = planned.map((p) => p.check.name).join(', ') || 'none';
    const hint = elsewhere.length
      ? ` (it runs at ${elsewhere.join(', ')}: add --hook ${elsewhere[0]})`
      : name in config.config.checks
        ? ' (it is defined but no hook lists it)'
        : '';
    throw new UsageError(`--only: ${hook} has no check "${name}"${hint}; its checks: ${listed}`);
  }
  return planned.filter((p) => wanted.includes(p.check.name));
}

function noChecksVerdict(hook: string, config: LoadedConfig): Verdict {
  const succeed = config.runner.noChecks === 'succeed';
  return {
    status: succeed ? 'Succeeded' : 'Failed',
    outcome: succeed ? 'passed' : 'inconclusive',
    reason: `no checks configured for ${hook} (runner.noChecks: ${config.runner.noChecks})`,
    durationMs: 0,
    checks: [],
  };
}

export interface CheckCommandOptions {
  /** Check types the config may name (default: the built-in ones). */
  checkTypes?: readonly CheckType[];
}

/**
 * `greenlight check`: runs one lifecycle event's checks from a laptop or a CI job, through the
 * same config loader and runner as the hook handlers, and exits 0 when a hook would report
 * Succeeded, 1 when it would report Failed, 2 on a usage or config error.
 */
export function createCheckCommand(options: CheckCommandOptions = {}): Command {
  const command: Command = {
    name: 'check',
    summary: 'Run one lifecycle event’s checks against a test URL, as the hook would.',
    usage:
      'greenlight check [--config FILE] [--hook EVENT] [--test-url URL] [--prod-url URL] [--deployment-id ID] [--only NAME[,NAME]] [--json] [--junit FILE]\n\n' +
      '  --config FILE    greenlight.yml (default: $GREENLIGHT_CONFIG, else ./greenlight.yml)\n' +
      `  --hook EVENT     lifecycle event whose checks run (default ${DEFAULT_HOOK})\n` +
      '  --test-url URL   replaces targets.test (the test listener: green)\n' +
      '  --prod-url URL   replaces targets.prod (the production listener: blue)\n' +
      '  --deployment-id ID  the CodeDeploy deployment (d-...) whose listeners replace `auto` targets, as in a hook\n' +
      '  --only NAME      run only these checks of the event (repeat or comma-separate)\n' +
      '  --json           print the verdict as JSON on stdout\n' +
      '  --junit FILE     also write JUnit XML (CodeBuild, GitLab, GitHub test reports)\n\n' +
      'exit codes: 0 Succeeded, 1 Failed, 2 usage or config error',
    async run(args, io) {
      let hook: LifecycleEvent;
      let planned: PlannedCheck[];
      let config: LoadedConfig;
      let targets: Record<string, URL>;
      let values: ReturnType<typeof parseCommandArgs<typeof OPTIONS>>;
      let deploymentId: string | undefined;
      try {
        values = parseCommandArgs(args, OPTIONS);
        hook = parseHook(values.hook as string | undefined);
        const testUrl =
          values['test-url'] === undefined
            ? undefined
            : parseTargetUrl('--test-url', values['test-url'] as string);
        const prodUrl =
          values['prod-url'] === undefined
            ? undefined
            : parseTargetUrl('--prod-url', values['prod-url'] as string);
        deploymentId = parseDeploymentId(values['deployment-id'] as string | undefined);
        // Secret references resolve as in the hooks, with the caller's AWS credentials.
        config = await loadConfig(configPathFrom(values.config as string | undefined, io), {
          env: io.env,
          resolvers: awsSecretResolvers,
          ...(options.checkTypes ? { checkTypes: options.checkTypes } : {}),
        });
        targets = { ...config.targets };
        if (testUrl) targets.test = testUrl;
        if (prodUrl) targets.prod = prodUrl;
        requireDeploymentForAuto(targets, deploymentId, ' (or give the URL with --test-url / --prod-url)');
        planned = selectChecks(config.plan(hook), values.only as string[] | undefined, hook, config);
      } catch (err) {
        if (err instanceof UsageError) {
          io.stderr.write(`greenlight check: ${err.message}\nusage: ${command.usage.split('\n')[0]}\n`);
          return EXIT_USAGE;
        }
        if (err instanceof ConfigError) {
          io.stderr.write(`greenlight check: config error: ${redactText(err.message)}\n`);
          return EXIT_USAGE;
        }
        throw err;
      }

      // As in a hook: a discovery that is not `passed` decides Failed before any check runs.
      const found = await discoverDeploymentTargets(targets, deploymentId, hook);
      targets = found.targets;
      const undiscovered: Verdict | undefined =
        found.discovery && found.discovery.outcome !== 'passed'
          ? {
              status: 'Failed',
              outcome: found.discovery.outcome,
              reason: `discovery ${found.discovery.outcome}: ${found.discovery.message}`,
              durationMs: 0,
              checks: [],
            }
          : undefined;

      const style = terminalStyle(io);
      const json = values.json === true;
      const stopped = new AbortController();
      const onSignal = () => stopped.abort(new Error('interrupted (SIGINT)'));
      process.once('SIGINT', onSignal);
      const progress =
        style.live && !json && planned.length && !undiscovered
          ? createCheckProgress(
              io.stdout,
              planned.map((p) => p.check.name),
              style,
            )
          : undefined;
      let verdict: Verdict;
      try {
        verdict = undiscovered
          ? undiscovered
          : planned.length
            ? await runChecks(planned, {
                deadline: Date.now() + CLI_BUDGET_MS - config.runner.reportReserveMs,
                targets,
                deployment: { lifecycleEvent: hook, ...(deploymentId ? { deploymentId } : {}) },
                log: silentLogger,
                concurrency: config.runner.concurrency,
                failFast: config.runner.failFast,
                signal: stopped.signal,
                ...(progress
                  ? { onStart: (name: string) => progress.start(name), onResult: (r) => progress.finish(r) }
                  : {}),
              })
            : noChecksVerdict(hook, config);
      } finally {
        progress?.stop();
        process.removeListener('SIGINT', onSignal);
      }

      const doc = toVerdictDocument(hook, verdict, targets);
      if (json) io.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      else if (verdict.checks.length) io.stdout.write(renderCheckTable(hook, verdict, style));
      else io.stdout.write(verdictLine(hook, verdict, style) + '\n');

      if (values.junit !== undefined) {
        const file = resolve(io.cwd, values.junit as string);
        try {
          await writeFile(file, junitReport(doc));
        } catch (err) {
          io.stderr.write(`greenlight check: cannot write JUnit report ${file}: ${errorMessage(err)}\n`);
          return EXIT_USAGE;
        }
      }
      return verdict.status === 'Succeeded' ? EXIT_OK : EXIT_FAILED;
    },
  };
  return command;
}

export const checkCommand = createCheckCommand();
