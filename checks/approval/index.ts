import { z } from 'zod';
import { readApproval } from '../../lib/approval-store';
import { defaultDynamoClient, stateTableName, type DynamoSender } from '../../lib/state-table';
import { errorMessage } from '../../lib/errors';
import { defineCheckType } from '../check-type';
import type { CheckContext, CheckReport } from '../types';

/** Seams for tests: the DynamoDB client and the table's name. */
export interface ApprovalDependencies {
  dynamo?: () => Promise<DynamoSender>;
  table?: () => string | undefined;
}

/** What a hook needs to wait for an approval, beside the check itself. */
export interface ApprovalSettings {
  timeoutMinutes: number;
  pollSeconds: number;
  message?: string | undefined;
}

/** A check built from an `approval` entry: a hook recognises it by these settings. */
export interface ApprovalCheck {
  name: string;
  type: 'approval';
  approval: ApprovalSettings;
  run(ctx: CheckContext): Promise<CheckReport>;
}

/**
 * Manual approval: a hook runs it after every other check of the lifecycle event has passed
 * (bake windows included), announces the request, and waits for `greenlight approve` or
 * `greenlight reject`, failing closed at `timeoutMinutes`. A single run (the CLI) looks once.
 */
export function approvalCheckTypeWith(deps: ApprovalDependencies = {}) {
  return defineCheckType({
    type: 'approval',
    summary:
      'A person approves (greenlight approve) or rejects the deployment once every other check passed.',
    options: z.strictObject({
      timeoutMinutes: z
        .number()
        .positive()
        .max(1_440)
        .describe('How long to wait for a decision; none by then fails the hook.'),
      pollSeconds: z.int().min(1).max(300).default(15).describe('How often the decision is looked for.'),
      message: z.string().max(500).optional().describe('Shown with the approval request.'),
    }),
    create(options, factory) {
      const check: ApprovalCheck = {
        name: factory.name,
        type: 'approval',
        approval: options,
        run: (ctx) => lookOnce(ctx, deps),
      };
      return check;
    },
  });
}

export const approvalCheckType = approvalCheckTypeWith();

async function lookOnce(ctx: CheckContext, deps: ApprovalDependencies): Promise<CheckReport> {
  const table = (deps.table ?? stateTableName)();
  const deploymentId = ctx.deployment.deploymentId;
  if (!table)
    return { outcome: 'error', message: 'no state table (GREENLIGHT_STATE_TABLE) to read decisions from' };
  if (!deploymentId)
    return { outcome: 'inconclusive', message: 'no deployment id to look up an approval for' };
  try {
    const found = await readApproval(
      await (deps.dynamo ?? defaultDynamoClient)(),
      table,
      deploymentId,
      ctx.signal,
    );
    if (!found?.decision)
      return { outcome: 'inconclusive', message: `no decision yet for deployment ${deploymentId}` };
    const { decision, approver, reason } = found.decision;
    return {
      outcome: decision === 'approved' ? 'passed' : 'failed',
      message: `${decision} by ${approver}${reason ? `: ${reason}` : ''}`,
      assertions: [{ what: 'approval', expected: 'approved', actual: decision, ok: decision === 'approved' }],
      details: { approver, ...(reason ? { reason } : {}) },
    };
  } catch (err) {
    return { outcome: 'error', message: `could not read the approval: ${errorMessage(err)}` };
  }
}

/** True for a check built from an `approval` entry. */
export function isApprovalCheck(check: { type: string }): check is ApprovalCheck {
  return check.type === 'approval' && 'approval' in check;
}
