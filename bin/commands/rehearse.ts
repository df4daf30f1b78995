import { resolve } from 'node:path';
import { ConfigError, errorMessage } from '../../lib/errors';
import { redactText } from '../../lib/redact';
import { rehearseScenario, type RehearsalResult } from '../../rehearsal/rehearsal';
import type { RehearsalPace } from '../../rehearsal/rehearsal-pace';
import { openRehearsalWorld } from '../../rehearsal/rehearsal-world';
import { SCENARIOS, findScenario, type Scenario } from '../../rehearsal/scenarios';
import { formatTimelineEvent } from '../../rehearsal/timeline';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../command';
import { parseCommandArgs } from '../command-args';
import { formatDuration, terminalStyle, type TerminalStyle } from '../../checks/terminal-style';
import { UsageError } from '../usage-error';

const OPTIONS = {
  scenario: { type: 'string', multiple: true },
  config: { type: 'string' },
} as const;

/** Whether a rehearsed deployment ended the way its scenario should: the gates did their job. */
export function endedAsExpected(scenario: Scenario, result: RehearsalResult): boolean {
  return scenario.expectedEnd === 'Succeeded'
    ? result.status === 'Succeeded'
    : result.status === 'Stopped' && result.rolledBackAt === scenario.expectedEnd.rolledBackAt;
}

function summaryLine(scenario: Scenario, result: RehearsalResult, style: TerminalStyle): string {
  const ok = endedAsExpected(scenario, result);
  const mark = style.paint(ok ? 'good' : 'bad', ok ? 'as expected' : 'NOT as expected');
  const end = result.status === 'Succeeded' ? 'Succeeded' : `rolled back at ${result.rolledBackAt}`;
  return `  ${scenario.name.padEnd(22)} ${end.padEnd(36)} ${style.paint('dim', formatDuration(result.durationMs).padEnd(8))} ${mark}`;
}

export interface RehearseCommandOptions {
  pace?: Partial<RehearsalPace>;
}

/**
 * `greenlight rehearse`: a whole blue/green deployment of a built-in sample app on this machine,
 * with nothing else installed: embedded PostgreSQL, an in-process session store, a local load
 * balancer and a CodeDeploy stand-in driving the real hook handlers. Exit 0 when every
 * rehearsed deployment ended as its scenario expects, 1 when one did not, 2 on a usage or
 * config error.
 */
export function createRehearseCommand(options: RehearseCommandOptions = {}): Command {
  const command: Command = {
    name: 'rehearse',
    summary: 'Rehearse a whole blue/green deployment locally: hooks, checks, traffic shift, rollback.',
    usage:
      'greenlight rehearse [--scenario NAME]... [--config FILE]\n\n' +
      `  --scenario NAME  one of ${SCENARIOS.map((s) => s.name).join(', ')} (default: all)\n` +
      '  --config FILE    your greenlight.yml instead of the sample one; its targets are pointed at\n' +
      '                   the rehearsal listeners\n\n' +
      'exit codes: 0 every deployment ended as its scenario expects, 1 one did not, 2 usage or config error',
    async run(args, io) {
      let scenarios: Scenario[];
      let configPath: string | undefined;
      try {
        const values = parseCommandArgs(args, OPTIONS);
        const names = ((values.scenario as string[] | undefined) ?? [])
          .flatMap((n) => n.split(','))
          .filter(Boolean);
        scenarios = names.length
          ? names.map((name) => {
              const found = findScenario(name);
              if (!found)
                throw new UsageError(
                  `--scenario: expected one of ${SCENARIOS.map((s) => s.name).join(', ')}, got "${name}"`,
                );
              return found;
            })
          : [...SCENARIOS];
        configPath = values.config === undefined ? undefined : resolve(io.cwd, values.config as string);
      } catch (err) {
        if (err instanceof UsageError) {
          io.stderr.write(`greenlight rehearse: ${err.message}\nusage: ${command.usage.split('\n')[0]}\n`);
          return EXIT_USAGE;
        }
        throw err;
      }

      const style = terminalStyle(io);
      const out = (line: string) => io.stdout.write(line + '\n');
      out(
        style.paint(
          'bold',
          'greenlight rehearsal: a blue/green deployment on this machine, nothing to install',
        ),
      );
      out(
        style.paint(
          'dim',
          'embedded PostgreSQL (PGlite), an in-process session store speaking the Redis protocol, a local load balancer',
        ),
      );
      out(
        style.paint(
          'dim',
          'with a production and a test listener, and a local CodeDeploy that invokes the hook handlers',
        ),
      );
      out('');

      const results: Array<{ scenario: Scenario; result: RehearsalResult }> = [];
      // The stand-in's SDK client would warn about Node 20 on every run; the warning is about
      // this machine's Node, not about the rehearsal, and only this process is affected.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      let world;
      try {
        world = await openRehearsalWorld();
      } catch (err) {
        io.stderr.write(`greenlight rehearse: cannot start the embedded services: ${errorMessage(err)}\n`);
        return EXIT_FAILED;
      }
      try {
        for (const scenario of scenarios) {
          out(style.paint('bold', `── ${scenario.name}: ${scenario.summary}`));
          out(style.paint('dim', `   expected: ${scenario.expect}`));
          const result = await rehearseScenario(world, scenario, {
            ...(configPath ? { configPath } : {}),
            ...(options.pace ? { pace: options.pace } : {}),
            onEvent: (event) => out(redactText(formatTimelineEvent(event, style))),
          });
          results.push({ scenario, result });
          out('');
        }
      } catch (err) {
        if (err instanceof ConfigError) {
          io.stderr.write(`greenlight rehearse: config error: ${redactText(err.message)}\n`);
          return EXIT_USAGE;
        }
        throw err;
      } finally {
        await world.close();
      }

      out(style.paint('bold', 'summary'));
      for (const { scenario, result } of results) out(summaryLine(scenario, result, style));
      return results.every(({ scenario, result }) => endedAsExpected(scenario, result))
        ? EXIT_OK
        : EXIT_FAILED;
    },
  };
  return command;
}

export const rehearseCommand = createRehearseCommand();
