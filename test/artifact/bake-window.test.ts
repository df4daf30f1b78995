import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AwsJsonServer, codeDeployServer } from '../support/aws-json-server';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { startLambdaInvokeServer, type RecordedInvoke } from '../support/lambda-invoke-server';
import { MotoServer } from '../support/moto-server';
import { createStateTable } from '../support/state-table';
import {
  invoke,
  packageStack,
  type InvokeResult,
  type PackagedFunction,
  type PackagedStack,
} from './artifact-kit';

// A 30-minute bake window in the packaged AfterAllowTraffic function, unzipped and run as the
// Lambda runtime runs it: each slice is a process of its own, its state in moto's DynamoDB, its
// continuation through a local Lambda Invoke endpoint that runs the next slice of the same zip,
// and its report to a local CodeDeploy. The window's clock runs 60 times faster
// (GREENLIGHT_CLOCK_SCALE), so 30 minutes take 30 seconds; the Lambda's own time stays real.
jest.setTimeout(300_000);

const SCALE = 60;
const TABLE = 'greenlight-state';
const PUT = 'PutLifecycleEventHookExecutionStatus';
const moto = new MotoServer();
const codedeploy: AwsJsonServer = codeDeployServer();
let stack: PackagedStack;
let fn: PackagedFunction;
let app: TestServer;
let dynamo: DynamoDBClient;
let lambda: Awaited<ReturnType<typeof startLambdaInvokeServer>>;
let anchor = 0;
/** Window-clock time from which the app answers 500. */
let burstFrom = Infinity;
const windowNow = () => anchor + (Date.now() - anchor) * SCALE;
/** How each continuation is run; set per test. */
let onContinuation: (invoke: RecordedInvoke) => void = () => {};
const running: Array<Promise<InvokeResult>> = [];

beforeAll(async () => {
  const motoUrl = await moto.start();
  dynamo = await createStateTable(motoUrl, TABLE);
  await codedeploy.start();
  lambda = await startLambdaInvokeServer((i) => onContinuation(i));
  app = await startHttpServer((_req, res) => {
    const bad = windowNow() >= burstFrom;
    res.writeHead(bad ? 500 : 200);
    res.end(bad ? 'upstream error' : 'ok');
  });
  stack = await packageStack(`
runner: { reportReserveMs: 1000 }
targets: { test: "\${env:APP_URL}", prod: "\${env:APP_URL}" }
checks:
  bake:
    type: http
    target: prod
    requests: [{ path: /health, expect: { status: 200 } }]
    window: { durationMinutes: 30, intervalSeconds: 60, failureLimit: 1 }
hooks:
  AfterAllowTraffic: [bake]
`);
  fn = stack.functions.get('afterAllowTraffic')!;
});
afterAll(async () => {
  await Promise.allSettled(running);
  await Promise.all([moto.stop(), codedeploy.stop(), lambda.close(), app.close()]);
  stack?.remove();
});
beforeEach(() => {
  codedeploy.reset();
  codedeploy.on(PUT, (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));
  lambda.invokes.length = 0;
  anchor = Date.now();
  burstFrom = Infinity;
});

function envFor(dynamoUrl: string): Record<string, string> {
  return {
    APP_URL: app.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
    AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.url,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    GREENLIGHT_STATE_TABLE: TABLE,
    GREENLIGHT_CLOCK_SCALE: String(SCALE),
    GREENLIGHT_CLOCK_ANCHOR_MS: String(anchor),
  };
}

/** One invocation of the packaged function, in a process of its own, with a 12-second timeout. */
function slice(event: unknown, dynamoUrl = moto.url): Promise<InvokeResult> {
  const result = invoke(fn, [event], { timeoutS: 12, env: envFor(dynamoUrl) });
  running.push(result);
  return result;
}

/** Resolves when CodeDeploy has received a report (the chain runs on its own meanwhile). */
async function reported(): Promise<void> {
  while (codedeploy.callsOf(PUT).length === 0) await new Promise((r) => setTimeout(r, 100));
  await Promise.allSettled(running);
}

/** A proxy to moto that stops answering after `allowed` requests: the process behind it freezes. */
async function freezingProxy(allowed: number): Promise<{ url: string; close(): void }> {
  let seen = 0;
  const server = createServer((req, res) => {
    if (++seen > allowed) return; // never answered
    const target = new URL(moto.url);
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 500, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
  };
}

const hookItem = async (executionId: string) =>
  (await dynamo.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `hook#${executionId}` } } })))
    .Item!;

describe('the packaged hook bakes for 30 minutes across invocations', () => {
  it('is packaged with its state table, the table in its environment and the rights it needs', () => {
    const table = stack.template.Resources.GreenlightStateTable!;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.Properties).toMatchObject({
      TableName: 'greenlight-art-state',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect(fn.environment.GREENLIGHT_STATE_TABLE).toBe('greenlight-art-state');
    const policies = JSON.stringify(stack.template.Resources.IamRoleLambdaExecution!.Properties);
    expect(policies).toContain('"dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem"');
    expect(policies).toContain('lambda:InvokeFunction');
    expect(policies).toContain(`function:${fn.name}`);
  });

  it('survives a crashed slice and a duplicated continuation, and reports Succeeded once', async () => {
    const event = { DeploymentId: 'd-ARTBAKE01', LifecycleEventHookExecutionId: 'art-bake-exec-1==' };
    const freezer = await freezingProxy(4);
    let continuations = 0;
    onContinuation = (next) => {
      continuations++;
      if (continuations === 1) {
        // Slice 1 freezes after a few writes and is killed at its timeout, as Lambda would;
        // Lambda's retry of the same event then takes over once the lease has run out.
        void slice(next.payload, freezer.url).then(() => slice(next.payload));
      } else if (continuations === 2) {
        // Slice 2 is delivered twice at once.
        void slice(next.payload);
        void slice(next.payload);
      } else {
        void slice(next.payload);
      }
    };

    await slice(event);
    await reported();
    freezer.close();

    const reports = codedeploy.callsOf(PUT).map((c) => c.body);
    expect(reports).toEqual([
      {
        deploymentId: event.DeploymentId,
        lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
        status: 'Succeeded',
      },
    ]);
    const slices = lambda.invokes.map((i) => i.payload.greenlightSlice as number);
    // One continuation per hand-over, however many copies ran: no slice number was asked for twice.
    expect(slices.length).toBeGreaterThanOrEqual(2);
    expect(slices).toEqual([...new Set(slices)].sort((a, b) => a - b));
    const logged = (await Promise.all(running)).flatMap((r) => r.logs.map((l) => l.message));
    expect(logged).toContain('took over a hook execution whose owner stopped renewing its lease');
    expect(logged).toContain('standing down: another invocation owns this hook execution');
    expect(logged.filter((m) => m === 'verdict')).toHaveLength(1);
    const item = await hookItem(event.LifecycleEventHookExecutionId);
    expect(item.reported).toEqual({ S: 'Succeeded' });
    const state = JSON.parse(item.state!.S!) as {
      windows: { bake: { measurements: Array<{ n: number; outcome: string }> } };
    };
    const measurements = state.windows.bake.measurements;
    expect(measurements[0]!.n).toBe(1);
    expect(measurements.at(-1)!.n).toBe(31);
    expect(measurements.every((m) => m.outcome === 'passed')).toBe(true);
    // The frozen slice's minutes (12 s of real time, 12 window minutes) are missed, not made up;
    // the measurements before the freeze are kept and the window went on after it.
    expect(measurements.length).toBeGreaterThanOrEqual(8);
    expect(measurements.length).toBeLessThan(31);
    const gap = measurements.findIndex((m, i) => i > 0 && m.n - measurements[i - 1]!.n > 1);
    expect(gap).toBeGreaterThan(0);
  });

  it('reports Failed at the first measurement past failureLimit, with its evidence', async () => {
    const event = { DeploymentId: 'd-ARTBAKE02', LifecycleEventHookExecutionId: 'art-bake-exec-2==' };
    burstFrom = anchor + 20 * 60_000;
    onContinuation = (next) => void slice(next.payload);

    await slice(event);
    await reported();

    expect(codedeploy.callsOf(PUT).map((c) => c.body.status)).toEqual(['Failed']);
    const item = await hookItem(event.LifecycleEventHookExecutionId);
    const reason = item.reason!.S!;
    expect(reason).toMatch(
      /^'bake' failed: measurement (\d+) of 31 failed at \S+: .*status: expected 200, got 500.*\(2 not passed, failureLimit 1\)$/,
    );
    const state = JSON.parse(item.state!.S!) as {
      windows: { bake: { measurements: Array<{ n: number; at: number; outcome: string }> } };
    };
    const failed = state.windows.bake.measurements.filter((m) => m.outcome !== 'passed');
    expect(failed).toHaveLength(2);
    expect(failed.every((m) => m.at >= burstFrom)).toBe(true);
    expect(reason).toContain(`measurement ${failed[1]!.n} of 31`);
    expect(state.windows.bake.measurements.at(-1)).toBe(
      state.windows.bake.measurements.find((m) => m === failed[1]),
    );
  });
});
