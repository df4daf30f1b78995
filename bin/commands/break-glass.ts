import type { SSMClient } from '@aws-sdk/client-ssm';
import { LIFECYCLE_EVENTS } from '../../checks/types';
import { ECS_LIFECYCLE_STAGES } from '../../config/ecs-lifecycle-stages';
import {
  ALL_HOOKS,
  breakGlassParameterName,
  DEFAULT_BREAK_GLASS_PREFIX,
  ecsBreakGlassKey,
  MAX_BREAK_GLASS_SECONDS,
  type BreakGlassRecord,
} from '../../hooks/break-glass';
import { awsClientConfig, awsErrorName } from '../../lib/aws';
import { errorMessage } from '../../lib/errors';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command } from '../command';
import { parseCommandArgs } from '../command-args';
import { UsageError } from '../usage-error';

const OPTIONS = {
  'deployment-id': { type: 'string' },
  'ecs-service-deployment': { type: 'string' },
  hook: { type: 'string', multiple: true },
  'expires-in': { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
  prefix: { type: 'string' },
  clear: { type: 'boolean' },
} as const;
const DEFAULT_EXPIRY_SECONDS = 60 * 60;
const DURATION = /^(\d+)\s*(s|m|h)$/;
const DEPLOYMENT_ID = /^d-[A-Z0-9]{9}$/;

/** `90m`, `2h`, `600s` in seconds; at most a day. */
export function parseExpiry(text: string | undefined): number {
  if (text === undefined) return DEFAULT_EXPIRY_SECONDS;
  const match = DURATION.exec(text.trim());
  if (!match)
    throw new UsageError(`--expires-in must be a duration such as 30m or 2h, got ${JSON.stringify(text)}`);
  const seconds = Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
  if (seconds <= 0 || seconds > MAX_BREAK_GLASS_SECONDS)
    throw new UsageError(`--expires-in must be more than 0 and at most 24h, got ${text}`);
  return seconds;
}

export interface BreakGlassCommandOptions {
  ssm?: Pick<SSMClient, 'send'>;
  now?: () => number;
}

/**
 * `greenlight break-glass`: lets one named deployment pass one or all of its hooks without running
 * checks, until it expires. It writes the SSM parameter the hooks read; the caller needs
 * ssm:PutParameter (and ssm:DeleteParameter for --clear) on the break-glass prefix, which the
 * hooks' own role does not have.
 */
export function createBreakGlassCommand(options: BreakGlassCommandOptions = {}): Command {
  const command: Command = {
    name: 'break-glass',
    summary: 'Let one named deployment pass its hooks without checks, until it expires (audited).',
    usage:
      'greenlight break-glass (--deployment-id ID | --ecs-service-deployment ARN) --reason TEXT [--hook EVENT]... [--expires-in 1h] [--by NAME] [--prefix P] [--clear]\n\n' +
      '  --deployment-id ID              the CodeDeploy deployment (d-...)\n' +
      '  --ecs-service-deployment ARN    the ECS service deployment (built-in blue/green)\n' +
      '  --hook EVENT                    a lifecycle event or ECS stage to pass (repeatable; default: all)\n' +
      '  --expires-in DURATION           30m, 2h, ... (default 1h, at most 24h)\n' +
      '  --reason TEXT                   why: logged with every skipped verdict\n' +
      '  --by NAME                       who (default $USER); CloudTrail records the IAM identity too\n' +
      "  --prefix P                      the stack's breakGlassPrefix (default /greenlight-break-glass/)\n" +
      '  --clear                         remove the switch before it expires\n' +
      'exit codes: 0 set or cleared, 1 the SSM call failed, 2 usage error',
    async run(args, io) {
      let name: string;
      let record: BreakGlassRecord | undefined;
      let clear: boolean;
      try {
        const values = parseCommandArgs(args, OPTIONS);
        const id = values['deployment-id'] as string | undefined;
        const arn = values['ecs-service-deployment'] as string | undefined;
        if (!!id === !!arn)
          throw new UsageError('name exactly one deployment: --deployment-id or --ecs-service-deployment');
        let deployment: string;
        if (id) {
          if (!DEPLOYMENT_ID.test(id))
            throw new UsageError(
              `--deployment-id must be a deployment id (d-XXXXXXXXX), got ${JSON.stringify(id)}`,
            );
          deployment = id;
        } else {
          const key = ecsBreakGlassKey(arn);
          if (!key)
            throw new UsageError(
              `--ecs-service-deployment must be arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID, got ${JSON.stringify(arn)}`,
            );
          deployment = key;
        }
        name = breakGlassParameterName(
          (values.prefix as string | undefined) ?? DEFAULT_BREAK_GLASS_PREFIX,
          deployment,
        );
        clear = !!values.clear;
        if (!clear) {
          const reason = (values.reason as string | undefined)?.trim();
          if (!reason) throw new UsageError('--reason is required: it is logged with every skipped verdict');
          const hooks = (values.hook as string[] | undefined) ?? [ALL_HOOKS];
          const known: readonly string[] = [...LIFECYCLE_EVENTS, ...ECS_LIFECYCLE_STAGES];
          for (const hook of hooks)
            if (hook !== ALL_HOOKS && !known.includes(hook))
              throw new UsageError(
                `--hook ${hook} is not a lifecycle event or ECS stage; known: ${known.join(', ')}`,
              );
          const now = (options.now ?? Date.now)();
          record = {
            deployment,
            hooks,
            expiresAt: new Date(
              now + parseExpiry(values['expires-in'] as string | undefined) * 1000,
            ).toISOString(),
            reason,
            setBy: (values.by as string | undefined) ?? io.env.USER ?? 'unknown',
            setAt: new Date(now).toISOString(),
          };
        }
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        io.stderr.write(`greenlight break-glass: ${err.message}\nusage: ${command.usage.split('\n')[0]}\n`);
        return EXIT_USAGE;
      }
      const { DeleteParameterCommand, PutParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
      const ssm = options.ssm ?? new SSMClient(awsClientConfig());
      try {
        if (clear) {
          await ssm.send(new DeleteParameterCommand({ Name: name }));
          io.stdout.write(`cleared ${name}: the deployment's hooks run their checks again\n`);
          return EXIT_OK;
        }
        await ssm.send(
          new PutParameterCommand({
            Name: name,
            Type: 'String',
            Value: JSON.stringify(record),
            Overwrite: true,
          }),
        );
      } catch (err) {
        const code = awsErrorName(err);
        if (clear && code === 'ParameterNotFound') {
          io.stdout.write(`no break-glass at ${name}\n`);
          return EXIT_OK;
        }
        io.stdout.write(
          `FAIL ${clear ? 'delete' : 'put'} ${name}: ${code && code !== 'Error' ? `${code}: ` : ''}${errorMessage(err, { cause: false })}\n`,
        );
        return EXIT_FAILED;
      }
      io.stdout.write(
        `set ${name}: ${record!.hooks.includes(ALL_HOOKS) ? 'every hook' : record!.hooks.join(', ')} of ${record!.deployment} passes without checks until ${record!.expiresAt}\n`,
      );
      return EXIT_OK;
    },
  };
  return command;
}

export const breakGlassCommand = createBreakGlassCommand();
