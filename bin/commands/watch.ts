import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsClientConfig } from '../../lib/aws';
import { redactText } from '../../lib/redact';
import type { WatchClients, WatchTarget } from '../../watch/watch-target';
import type { TimelineEvent } from '../../watch/timeline';
import { timelineJsonLine } from '../../watch/timeline-json';
import { realClock, type WatchClock } from '../../watch/watch-clock';
import {
  DEFAULT_INTERVAL_MS,
  DEFAULT_STALL_AFTER_MS,
  watchDeployment,
  type WatchEnding,
} from '../../watch/watch-deployment';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command, type CommandIO } from '../command';
import { parseCommandArgs } from '../command-args';
import { terminalStyle, type TerminalStyle } from '../../checks/terminal-style';
import { UsageError } from '../usage-error';

/** The deployment made no progress for `--stall-after`, or AWS did not answer for that long. */
export const EXIT_STALLED = 3;
const EXIT_INTERRUPTED = 130;

const EXIT: Record<WatchEnding, number> = {
  completed: EXIT_OK,
  failed: EXIT_FAILED,
  'rolled-back': EXIT_FAILED,
  stalled: EXIT_STALLED,
  unreachable: EXIT_STALLED,
  'not-found': EXIT_USAGE,
  interrupted: EXIT_INTERRUPTED,
};

const OPTIONS = {
  cluster: { type: 'string' },
  service: { type: 'string' },
  'deployment-id': { type: 'string' },
  interval: { type: 'string' },
  'stall-after': { type: 'string' },
  'hook-log-group': { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

const MIN_INTERVAL_MS = 1_000;
const UNITS_MS: Record<string, number> = { '': 1_000, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000 };

/** `90`, `90s`, `10m`, `1h` to milliseconds; anything else is a usage error. */
export function parseDuration(option: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h)?$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) {
    throw new UsageError(`${option}: expected a duration such as 90s, 10m or 1h, got "${value}"`);
  }
  return Math.round(Number(m[1]) * UNITS_MS[m[2] ?? '']!);
}

/** What to follow: `--cluster` and `--service`, or `--deployment-id` (optionally with them). */
export function parseWatchTarget(values: {
  cluster?: string;
  service?: string;
  deploymentId?: string;
}): WatchTarget {
  const { cluster, service, deploymentId } = values;
  if (deploymentId !== undefined && (!deploymentId.trim() || /\s/.test(deploymentId.trim()))) {
    throw new UsageError(
      `--deployment-id: expected a CodeDeploy deployment id such as d-ABCDEF123, got "${deploymentId}"`,
    );
  }
  if (!deploymentId && (!cluster || !service)) {
    throw new UsageError(
      cluster || service
        ? `--${cluster ? 'service' : 'cluster'} is missing: give --cluster and --service together`
        : 'give --cluster C --service S, or --deployment-id d-...',
    );
  }
  return {
    ...(cluster ? { cluster } : {}),
    ...(service ? { service } : {}),
    ...(deploymentId ? { deploymentId: deploymentId.trim() } : {}),
  };
}

/** The real SDK clients, one attempt per call: the watch paces and backs off itself. */
export function defaultWatchClients(): WatchClients {
  const config = { ...awsClientConfig(), maxAttempts: 1 };
  return {
    ecs: new ECSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    cloudwatch: new CloudWatchClient(config),
    codedeploy: new CodeDeployClient(config),
    logs: new CloudWatchLogsClient(config),
  };
}

const TONE: Partial<Record<TimelineEvent['type'], 'bad' | 'warn' | 'dim' | 'bold'>> = {
  'task-stopped': 'bad',
  'source-error': 'warn',
  'service-event': 'dim',
  diagnosis: 'bold',
};
const TYPE_WIDTH = 15;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function tone(event: TimelineEvent): 'good' | 'bad' | 'warn' | 'dim' | 'bold' | undefined {
  if (event.type === 'outcome') return event.data?.ending === 'completed' ? 'good' : 'bad';
  if (event.type === 'target-health')
    return /: healthy/.test(event.message) ? 'good' : /unhealthy/.test(event.message) ? 'bad' : undefined;
  if (event.type === 'alarm') return /: ALARM/.test(event.message) ? 'bad' : undefined;
  if (event.type === 'lifecycle-event' || event.type === 'hook-verdict')
    return /: Failed/.test(event.message) ? 'bad' : /: Succeeded/.test(event.message) ? 'good' : undefined;
  return TONE[event.type];
}

/** `12:00:10  revision        deployment ...`: time (UTC), event type, message. */
export function plainLine(event: TimelineEvent, style: TerminalStyle): string {
  const time = new Date(event.at).toISOString().slice(11, 19);
  const message = redactText(event.message);
  const t = tone(event);
  return `${style.paint('dim', time)}  ${event.type.padEnd(TYPE_WIDTH)} ${t ? style.paint(t, message) : message}`;
}

/** Prints events as they come: JSON lines, plain lines, or (on a terminal) lines under a live status line. */
function createPrinter(io: CommandIO, style: TerminalStyle, json: boolean, clock: WatchClock) {
  const started = clock.now();
  let status = '';
  let frame = 0;
  const live = style.live && !json;
  const statusLine = () => {
    const width = style.columns ?? 100;
    const text = `${SPINNER[frame++ % SPINNER.length]} ${status} · ${Math.round((clock.now() - started) / 1_000)} s`;
    return style.paint('dim', text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text);
  };
  return {
    event(event: TimelineEvent) {
      if (json) return void io.stdout.write(timelineJsonLine(event) + '\n');
      if (event.type === 'revision' || event.type === 'deployment' || event.type === 'watching')
        status = event.message;
      const line = plainLine(event, style);
      io.stdout.write(live ? `\r\x1b[2K${line}\n${statusLine()}` : `${line}\n`);
    },
    stop() {
      if (live) io.stdout.write('\r\x1b[2K');
    },
  };
}

export interface WatchCommandOptions {
  clock?: WatchClock;
  clients?: () => WatchClients;
}

/**
 * `greenlight watch`: follows a service's current deployment (rolling, ECS blue/green, linear or
 * canary, or CodeDeploy) until it completes, fails, rolls back or stalls, printing a timeline and,
 * unless it completed, one line naming the most likely cause.
 */
export function createWatchCommand(options: WatchCommandOptions = {}): Command {
  const command: Command = {
    name: 'watch',
    summary: 'Follow an ECS deployment live until it completes, fails or stalls, and say why it failed.',
    usage:
      'greenlight watch (--cluster C --service S | --deployment-id d-...) [--interval 10s] [--stall-after 10m] [--hook-log-group G]... [--json]\n\n' +
      '  --cluster C, --service S  the ECS service whose current deployment is followed\n' +
      '  --deployment-id ID        a CodeDeploy deployment (its service comes from the deployment group)\n' +
      `  --interval DURATION       time between polls; each AWS API is called at most once per interval (default ${DEFAULT_INTERVAL_MS / 1_000}s, at least 1s)\n` +
      `  --stall-after DURATION    no progress for this long ends the watch as stalled (default ${DEFAULT_STALL_AFTER_MS / 60_000}m)\n` +
      "  --hook-log-group G        a greenlight hook's log group or Lambda function name (repeatable): its verdicts go on the timeline;\n" +
      "                            without it, the hooks the deployment's appspec or the service's lifecycle hooks name\n" +
      '  --json                    one JSON object per event line (schema in the README)\n\n' +
      'exit codes: 0 completed, 1 failed or rolled back, 2 usage error or nothing to follow, 3 stalled or AWS unreachable',
    async run(args, io) {
      let target: WatchTarget;
      let intervalMs = DEFAULT_INTERVAL_MS;
      let stallAfterMs = DEFAULT_STALL_AFTER_MS;
      let json: boolean;
      try {
        const values = parseCommandArgs(args, OPTIONS);
        target = parseWatchTarget({
          cluster: values.cluster as string | undefined,
          service: values.service as string | undefined,
          deploymentId: values['deployment-id'] as string | undefined,
        });
        const hookLogGroups = (values['hook-log-group'] as string[] | undefined) ?? [];
        const blank = hookLogGroups.find((g) => !g.trim());
        if (blank !== undefined)
          throw new UsageError('--hook-log-group: expected a log group or Lambda function name, got ""');
        if (hookLogGroups.length) target.hookLogGroups = hookLogGroups.map((g) => g.trim());
        if (values.interval !== undefined)
          intervalMs = parseDuration('--interval', values.interval as string);
        if (intervalMs < MIN_INTERVAL_MS)
          throw new UsageError(`--interval: at least 1s, got "${values.interval}"`);
        if (values['stall-after'] !== undefined)
          stallAfterMs = parseDuration('--stall-after', values['stall-after'] as string);
        if (stallAfterMs < intervalMs)
          throw new UsageError(`--stall-after must be at least --interval (${intervalMs / 1_000}s)`);
        json = values.json === true;
      } catch (err) {
        if (err instanceof UsageError) {
          io.stderr.write(`greenlight watch: ${err.message}\nusage: ${command.usage.split('\n')[0]}\n`);
          return EXIT_USAGE;
        }
        throw err;
      }

      const clock = options.clock ?? realClock;
      const printer = createPrinter(io, terminalStyle(io), json, clock);
      const stopped = new AbortController();
      const onSignal = () => stopped.abort();
      process.once('SIGINT', onSignal);
      try {
        const outcome = await watchDeployment({
          target,
          clients: (options.clients ?? defaultWatchClients)(),
          clock,
          intervalMs,
          stallAfterMs,
          signal: stopped.signal,
          onEvent: (event) => printer.event(event),
        });
        if (outcome.ending === 'not-found')
          io.stderr.write(`greenlight watch: ${redactText(outcome.message)}\n`);
        return EXIT[outcome.ending];
      } finally {
        printer.stop();
        process.removeListener('SIGINT', onSignal);
      }
    },
  };
  return command;
}

export const watchCommand = createWatchCommand();
