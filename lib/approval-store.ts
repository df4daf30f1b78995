import {
  getItem,
  isConditionFailure,
  ITEM_TTL_SECONDS,
  num,
  readNumber,
  readString,
  str,
  type DynamoSender,
} from './state-table';

/**
 * Manual approvals in the state table, one item per deployment (`approval#<deployment id>`): the
 * hook writes a pending request, `greenlight approve` / `reject` turns it into a decision, and
 * only the request it was made for (its `requestKey`) reads it back.
 */
export interface ApprovalRequest {
  deploymentId: string;
  /** Which wait this is (hook execution and check): a decision for another request is not read. */
  requestKey: string;
  lifecycleEvent: string;
  check: string;
  requestedAt: number;
  timeoutAt: number;
}

export interface ApprovalDecision {
  decision: 'approved' | 'rejected';
  approver: string;
  reason?: string;
  decidedAt: number;
}

export interface PendingApproval extends ApprovalRequest {
  status: 'pending' | 'approved' | 'rejected' | 'timed-out';
  decision?: ApprovalDecision;
}

/** `greenlight approve` / `reject` was refused: nothing pending, already decided, or timed out. */
export class ApprovalRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApprovalRefused';
  }
}

const approvalKey = (deploymentId: string) => `approval#${deploymentId}`;

/** Writes the pending request unless this very request is already there (a repeat keeps its decision). */
export async function requestApproval(
  client: DynamoSender,
  table: string,
  request: ApprovalRequest,
): Promise<void> {
  const { PutItemCommand } = await import('@aws-sdk/client-dynamodb');
  try {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          pk: str(approvalKey(request.deploymentId)),
          requestKey: str(request.requestKey),
          lifecycleEvent: str(request.lifecycleEvent),
          check: str(request.check),
          status: str('pending'),
          requestedAt: num(request.requestedAt),
          timeoutAt: num(request.timeoutAt),
          expiresAt: num(Math.floor(Date.now() / 1000) + ITEM_TTL_SECONDS),
        },
        ConditionExpression: 'attribute_not_exists(pk) OR requestKey <> :key',
        ExpressionAttributeValues: { ':key': str(request.requestKey) },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}

/** The approval item of a deployment, whichever request it belongs to. */
export async function readApproval(
  client: DynamoSender,
  table: string,
  deploymentId: string,
  signal?: AbortSignal,
): Promise<PendingApproval | undefined> {
  const item = await getItem(client, table, approvalKey(deploymentId), signal);
  if (!item) return undefined;
  const status = readString(item, 'status') as PendingApproval['status'];
  const approval: PendingApproval = {
    deploymentId,
    requestKey: readString(item, 'requestKey') ?? '',
    lifecycleEvent: readString(item, 'lifecycleEvent') ?? '',
    check: readString(item, 'check') ?? '',
    requestedAt: readNumber(item, 'requestedAt') ?? 0,
    timeoutAt: readNumber(item, 'timeoutAt') ?? 0,
    status,
  };
  if (status === 'approved' || status === 'rejected') {
    const reason = readString(item, 'reason');
    approval.decision = {
      decision: status,
      approver: readString(item, 'approver') ?? 'unknown',
      decidedAt: readNumber(item, 'decidedAt') ?? 0,
      ...(reason ? { reason } : {}),
    };
  }
  return approval;
}

/**
 * Records a decision on the deployment's pending request. Refused (ApprovalRefused) when no
 * request is pending for this deployment, when it is decided already, or when it has timed out.
 */
export async function decideApproval(
  client: DynamoSender,
  table: string,
  deploymentId: string,
  decision: ApprovalDecision,
  now: number = Date.now(),
): Promise<PendingApproval> {
  const { UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: str(approvalKey(deploymentId)) },
        UpdateExpression: `SET #status = :decision, approver = :approver, decidedAt = :now${decision.reason ? ', reason = :reason' : ''}`,
        ConditionExpression: 'attribute_exists(pk) AND #status = :pending AND timeoutAt > :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':decision': str(decision.decision),
          ':approver': str(decision.approver),
          ':now': num(now),
          ':pending': str('pending'),
          ...(decision.reason ? { ':reason': str(decision.reason) } : {}),
        },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const current = await readApproval(client, table, deploymentId);
    if (!current) throw new ApprovalRefused(`no approval is pending for deployment ${deploymentId}`);
    if (current.requestKey && current.status === 'timed-out') {
      throw new ApprovalRefused(
        `the approval request for deployment ${deploymentId} timed out at ${new Date(current.timeoutAt).toISOString()}`,
      );
    }
    if (current.decision) {
      throw new ApprovalRefused(
        `deployment ${deploymentId} was already ${current.decision.decision} by ${current.decision.approver}`,
      );
    }
    throw new ApprovalRefused(
      `the approval request for deployment ${deploymentId} timed out at ${new Date(current.timeoutAt).toISOString()}`,
    );
  }
  const recorded = await readApproval(client, table, deploymentId);
  return recorded!;
}

/**
 * Closes a request that timed out, so that a late `greenlight approve` is refused. When a decision
 * got there first, that decision is returned instead (the hook then takes it).
 */
export async function expireApproval(
  client: DynamoSender,
  table: string,
  deploymentId: string,
  requestKey: string,
): Promise<ApprovalDecision | undefined> {
  const { UpdateItemCommand } = await import('@aws-sdk/client-dynamodb');
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { pk: str(approvalKey(deploymentId)) },
        UpdateExpression: 'SET #status = :expired',
        ConditionExpression: '#status = :pending AND requestKey = :key',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':expired': str('timed-out'),
          ':pending': str('pending'),
          ':key': str(requestKey),
        },
      }),
    );
    return undefined;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
    const current = await readApproval(client, table, deploymentId);
    return current?.requestKey === requestKey ? current.decision : undefined;
  }
}

/**
 * Where a gate files its approval request and looks for the decision: the state table in a
 * deployment (`dynamoApprovalDesk`); the rehearsal brings one of its own.
 */
export interface ApprovalDesk {
  request(request: ApprovalRequest): Promise<void>;
  read(deploymentId: string): Promise<PendingApproval | undefined>;
  expire(deploymentId: string, requestKey: string): Promise<ApprovalDecision | undefined>;
}

export function dynamoApprovalDesk(client: DynamoSender, table: string): ApprovalDesk {
  return {
    request: (request) => requestApproval(client, table, request),
    read: (deploymentId) => readApproval(client, table, deploymentId),
    expire: (deploymentId, requestKey) => expireApproval(client, table, deploymentId, requestKey),
  };
}
