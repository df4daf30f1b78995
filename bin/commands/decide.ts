import { ApprovalRefused, decideApproval } from '../../lib/approval-store';
import { awsClientConfig } from '../../lib/aws';
import { errorMessage } from '../../lib/errors';
import { defaultDynamoClient, stateTableName } from '../../lib/state-table';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type Command, type CommandIO } from '../command';
import { parseArgs } from 'node:util';

/** Who is deciding: the caller's own identity as AWS sees it (STS GetCallerIdentity). */
async function callerArn(): Promise<string> {
  const { STSClient, GetCallerIdentityCommand } = await import('@aws-sdk/client-sts');
  const out = await new STSClient(awsClientConfig()).send(new GetCallerIdentityCommand({}));
  if (!out.Arn) throw new Error('STS GetCallerIdentity returned no ARN');
  return out.Arn;
}

function decideCommand(decision: 'approved' | 'rejected'): Command {
  const name = decision === 'approved' ? 'approve' : 'reject';
  const usage = `greenlight ${name} <deployment-id> ${decision === 'rejected' ? '--reason "..."' : '[--reason "..."]'} [--table NAME]`;
  return {
    name,
    summary:
      decision === 'approved'
        ? 'Approve a deployment waiting at an approval check.'
        : 'Reject a deployment waiting at an approval check (it fails and rolls back).',
    usage,
    async run(args: string[], io: CommandIO) {
      let parsed;
      try {
        parsed = parseArgs({
          args,
          options: { reason: { type: 'string' }, table: { type: 'string' } },
          strict: true,
          allowPositionals: true,
        });
      } catch (err) {
        io.stderr.write(`greenlight ${name}: ${errorMessage(err).split('\n')[0]}\nusage: ${usage}\n`);
        return EXIT_USAGE;
      }
      const [deploymentId, ...extra] = parsed.positionals;
      const problem = !deploymentId
        ? 'expected the deployment id (CodeDeploy d-..., or the ECS service deployment ARN)'
        : extra.length
          ? `unexpected argument ${JSON.stringify(extra[0])}`
          : decision === 'rejected' && !parsed.values.reason?.trim()
            ? 'a rejection needs --reason "..." (it goes into the verdict)'
            : undefined;
      const table = parsed.values.table ?? stateTableName(io.env);
      if (problem || !table) {
        io.stderr.write(
          `greenlight ${name}: ${problem ?? 'no state table: pass --table or set GREENLIGHT_STATE_TABLE'}\nusage: ${usage}\n`,
        );
        return EXIT_USAGE;
      }
      try {
        const approver = await callerArn();
        const reason = parsed.values.reason?.trim();
        const recorded = await decideApproval(await defaultDynamoClient(), table, deploymentId!, {
          decision,
          approver,
          decidedAt: Date.now(),
          ...(reason ? { reason } : {}),
        });
        io.stdout.write(
          `${decision} deployment ${deploymentId} (${recorded.lifecycleEvent}, check '${recorded.check}') as ${approver}${reason ? `: ${reason}` : ''}\n`,
        );
        return EXIT_OK;
      } catch (err) {
        const why =
          err instanceof ApprovalRefused
            ? err.message
            : `could not record the decision: ${errorMessage(err)}`;
        io.stderr.write(`greenlight ${name}: ${why}\n`);
        return EXIT_FAILED;
      }
    },
  };
}

export const approveCommand = decideCommand('approved');
export const rejectCommand = decideCommand('rejected');
