// Hands a CodeDeploy hook's gate on: the slice number an event carries and the invocation of the next slice.
import { awsClientConfig } from '../../lib/aws';
import type { LambdaSender, SliceOptions } from './slice-options';

/** The event field that carries the slice number of a continuation. */
export const SLICE_FIELD = 'greenlightSlice';

let defaultLambda: Promise<LambdaSender> | undefined;
function defaultLambdaClient(): Promise<LambdaSender> {
  defaultLambda ??= import('@aws-sdk/client-lambda').then(
    ({ LambdaClient }) => new LambdaClient(awsClientConfig()),
  );
  return defaultLambda;
}

/** The slice number an event carries (0 for CodeDeploy's own invocation). */
export function sliceOf(event: unknown): number {
  const value = (event as Record<string, unknown> | null)?.[SLICE_FIELD];
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 0;
}

/** Invokes this function again, asynchronously, as slice `next` of the same hook execution. */
export async function invokeNext(o: SliceOptions, next: number): Promise<void> {
  const functionName = o.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
  if (!functionName) throw new Error('this function does not know its own name (AWS_LAMBDA_FUNCTION_NAME)');
  const [{ InvokeCommand }, lambda] = await Promise.all([
    import('@aws-sdk/client-lambda'),
    (o.lambda ?? defaultLambdaClient)(),
  ]);
  const payload = {
    DeploymentId: o.execution.deploymentId,
    LifecycleEventHookExecutionId: o.execution.lifecycleEventHookExecutionId,
    [SLICE_FIELD]: next,
  };
  const out = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'Event',
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  if (out.StatusCode !== undefined && out.StatusCode !== 202)
    throw new Error(`Lambda Invoke answered ${out.StatusCode}, expected 202`);
}
