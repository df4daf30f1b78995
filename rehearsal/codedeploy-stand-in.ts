import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { awsClientConfig } from '../lib/aws';

const TARGET_PREFIX = 'CodeDeploy_20141006.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_BODY_BYTES = 64 * 1024;

/** A report that arrived for a lifecycle event hook execution. */
export interface HookReport {
  status: 'Succeeded' | 'Failed';
  /** Every PutLifecycleEventHookExecutionStatus call for this execution, the rejected repeats included. */
  calls: number;
}

interface Execution {
  deploymentId: string;
  lifecycleEvent: string;
  report?: HookReport;
  resolve(report: HookReport): void;
}

class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The rehearsal's CodeDeploy endpoint: it speaks the JSON 1.1 protocol of the real service
 * (`POST /`, `X-Amz-Target: CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus`), so the
 * hooks report through the real AWS SDK over HTTP, and it answers the way CodeDeploy does:
 * a second report is LifecycleEventAlreadyCompletedException, an unknown execution id
 * InvalidLifecycleEventHookExecutionIdException.
 */
export class CodeDeployStandIn {
  private server: Server | undefined;
  private readonly deployments = new Set<string>();
  private readonly executions = new Map<string, Execution>();

  async start(): Promise<URL> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): URL {
    const { port } = this.server!.address() as AddressInfo;
    return new URL(`http://127.0.0.1:${port}`);
  }

  /**
   * A CodeDeploy client for the hooks, pointed at this stand-in with throwaway credentials. They
   * live in this client only: the user's AWS environment is neither read nor changed.
   */
  client(): CodeDeployClient {
    return new CodeDeployClient({
      ...awsClientConfig(),
      endpoint: this.url.href,
      region: 'local-rehearsal',
      credentials: { accessKeyId: 'REHEARSAL', secretAccessKey: 'rehearsal-only' },
    });
  }

  createDeployment(): string {
    const id = `d-${randomUUID().replace(/-/g, '').slice(0, 9).toUpperCase()}`;
    this.deployments.add(id);
    return id;
  }

  /** Opens a hook execution; the promise settles when the hook reports. */
  openExecution(
    deploymentId: string,
    lifecycleEvent: string,
  ): { executionId: string; reported: Promise<HookReport> } {
    const executionId = randomUUID();
    let resolve!: (report: HookReport) => void;
    const reported = new Promise<HookReport>((r) => (resolve = r));
    this.executions.set(executionId, { deploymentId, lifecycleEvent, resolve });
    return { executionId, reported };
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify(body));
    };
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      if (req.method !== 'POST' || !target.startsWith(TARGET_PREFIX)) {
        throw new AwsError('UnknownOperationException', `unexpected ${req.method} with target "${target}"`);
      }
      if (req.headers['content-type'] !== CONTENT_TYPE) {
        throw new AwsError('SerializationException', `expected content-type ${CONTENT_TYPE}`);
      }
      const body = await readBody(req);
      const operation = target.slice(TARGET_PREFIX.length);
      if (operation !== 'PutLifecycleEventHookExecutionStatus') {
        throw new AwsError('UnknownOperationException', `the rehearsal does not implement ${operation}`);
      }
      send(200, this.putStatus(body));
    } catch (err) {
      if (err instanceof AwsError) send(400, { __type: err.type, message: err.message });
      else send(500, { __type: 'InternalFailure', message: (err as Error).message });
    }
  }

  private putStatus(body: Record<string, unknown>): Record<string, unknown> {
    const { deploymentId, lifecycleEventHookExecutionId: executionId, status } = body;
    if (typeof deploymentId !== 'string' || !deploymentId)
      throw new AwsError('DeploymentIdRequiredException', 'deploymentId is required');
    if (!this.deployments.has(deploymentId))
      throw new AwsError('DeploymentDoesNotExistException', `deployment ${deploymentId} does not exist`);
    const execution = typeof executionId === 'string' ? this.executions.get(executionId) : undefined;
    if (!execution || execution.deploymentId !== deploymentId) {
      throw new AwsError(
        'InvalidLifecycleEventHookExecutionIdException',
        `unknown lifecycle event hook execution ${String(executionId)}`,
      );
    }
    if (status !== 'Succeeded' && status !== 'Failed') {
      throw new AwsError(
        'InvalidLifecycleEventHookExecutionStatusException',
        `status must be Succeeded or Failed, got ${String(status)}`,
      );
    }
    if (execution.report) {
      execution.report.calls++;
      throw new AwsError(
        'LifecycleEventAlreadyCompletedException',
        `${execution.lifecycleEvent} of ${deploymentId} already reported ${execution.report.status}`,
      );
    }
    execution.report = { status, calls: 1 };
    execution.resolve(execution.report);
    return { lifecycleEventHookExecutionId: executionId };
  }
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new AwsError('SerializationException', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch {
    throw new AwsError('SerializationException', 'request body is not a JSON object');
  }
}
