import { AwsJsonServer, codeDeployServer, forwardCall, type AwsCall, type AwsReply } from './aws-json-server';

const TIMESTAMPS = ['createTime', 'startTime', 'completeTime'] as const;

/**
 * A local CodeDeploy in front of moto's: GetDeployment and GetDeploymentGroup are answered by moto,
 * PutLifecycleEventHookExecutionStatus (which moto does not implement) is recorded and answered
 * here, as AWS answers it, including LifecycleEventAlreadyCompletedException for a second report of
 * the same execution.
 *
 * moto 5.2 writes GetDeployment's `createTime` as an ISO 8601 string; the CodeDeploy API reference
 * (DeploymentInfo) types it as a Timestamp, which the JSON 1.1 protocol sends as epoch seconds, and
 * the JavaScript SDK rejects the string. The stand-in turns those fields into epoch seconds.
 */
export class CodeDeployOverMoto {
  readonly server: AwsJsonServer = codeDeployServer();
  /** The reports received, in order, with the execution id and status each carried. */
  readonly reports: { deploymentId: string; executionId: string; status: string }[] = [];

  constructor(private readonly motoUrl: () => string) {
    this.server.on('GetDeployment', (call) => this.forward(call, fixDeploymentTimes));
    this.server.on('GetDeploymentGroup', (call) => this.forward(call));
    this.server.on('PutLifecycleEventHookExecutionStatus', (call) => {
      const deploymentId = String(call.body.deploymentId);
      const executionId = String(call.body.lifecycleEventHookExecutionId);
      if (this.reports.some((r) => r.executionId === executionId))
        return {
          error: 'LifecycleEventAlreadyCompletedException',
          message: `The lifecycle event ${executionId} is already completed`,
        };
      this.reports.push({ deploymentId, executionId, status: String(call.body.status) });
      return { body: { lifecycleEventHookExecutionId: executionId } };
    });
  }

  start(): Promise<string> {
    return this.server.start();
  }

  stop(): Promise<void> {
    return this.server.stop();
  }

  /** The statuses reported for one lifecycle event execution. */
  reportsOf(executionId: string): string[] {
    return this.reports.filter((r) => r.executionId === executionId).map((r) => r.status);
  }

  private async forward(call: AwsCall, fix?: (body: Record<string, unknown>) => void): Promise<AwsReply> {
    const reply = await forwardCall(this.motoUrl(), call);
    if ('body' in reply) fix?.(reply.body as Record<string, unknown>);
    return reply;
  }
}

function fixDeploymentTimes(body: Record<string, unknown>): void {
  const info = body.deploymentInfo as Record<string, unknown> | undefined;
  if (!info) return;
  for (const field of TIMESTAMPS) {
    const value = info[field];
    if (typeof value === 'string') info[field] = Date.parse(value) / 1000;
    else if (value === null) delete info[field];
  }
}
