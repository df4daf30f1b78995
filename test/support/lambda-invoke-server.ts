import { startHttpServer, type TestServer } from './http-servers';

/** One Lambda Invoke the local server received. */
export interface RecordedInvoke {
  functionName: string;
  invocationType: string;
  payload: Record<string, unknown>;
}

/**
 * A local Lambda Invoke endpoint (`POST /2015-03-31/functions/{name}/invocations`, the REST-JSON
 * wire the SDK speaks): records every invocation, answers 202 to asynchronous ones as Lambda
 * does, and hands each to `onInvoke` (which may run the function) without waiting for it.
 */
export async function startLambdaInvokeServer(
  onInvoke: (invoke: RecordedInvoke) => void = () => {},
): Promise<{ url: string; invokes: RecordedInvoke[]; close(): Promise<void>; server: TestServer }> {
  const invokes: RecordedInvoke[] = [];
  const server = await startHttpServer((req, res) => {
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res.writeHead(404, {
        'content-type': 'application/json',
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      res.end(JSON.stringify({ message: `no such route ${req.method} ${req.url}` }));
      return;
    }
    const invoke: RecordedInvoke = {
      functionName: decodeURIComponent(match[1]!),
      invocationType: String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse'),
      payload: JSON.parse(req.body || '{}') as Record<string, unknown>,
    };
    invokes.push(invoke);
    res.writeHead(invoke.invocationType === 'Event' ? 202 : 200, { 'content-type': 'application/json' });
    res.end('');
    setImmediate(() => onInvoke(invoke));
  });
  return { url: server.url, invokes, close: () => server.close(), server };
}
