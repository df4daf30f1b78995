// Bake windows in the CodeDeploy hook, in process: the hook adapter with a fake clock, its state
// in moto's DynamoDB, its continuations through a local Lambda Invoke endpoint, its report to a
// local CodeDeploy, and the window's measurements against a real loopback HTTP server.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GateOptions } from '../../hooks/gate/gated-hook';
import { createHookHandler, type HookOutcome } from '../../hooks/hook-handler';
import { defaultDynamoClient, type DynamoSender } from '../../lib/state-table';
import { codeDeployServer } from '../support/aws-json-server';
import { captureOutput } from '../support/capture-output';
import { FakeClock } from '../support/fake-clock';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { startLambdaInvokeServer, type RecordedInvoke } from '../support/lambda-invoke-server';
import { MotoServer } from '../support/moto-server';
import { createStateTable } from '../support/state-table';

const PUT = 'PutLifecycleEventHookExecutionStatus';
const TABLE = 'greenlight-state';
const SLICE_MS = 10 * 60_000;
const codedeploy = codeDeployServer();
const moto = new MotoServer();
const dir = mkdtempSync(join(tmpdir(), 'greenlight-bake-'));
let lambda: Awaited<ReturnType<typeof startLambdaInvokeServer>>;
let app: TestServer;
let dynamo: DynamoDBClient;
let clock: FakeClock;
/** From this clock time on, the app answers 500 (an error burst after the shift). */
let burstFrom = Infinity;
let output: ReturnType<typeof captureOutput>;
let n = 0;

beforeAll(async () => {
  const motoUrl = await moto.start();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = motoUrl;
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codedeploy.start();
  lambda = await startLambdaInvokeServer();
  process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
  dynamo = await createStateTable(motoUrl, TABLE);
  app = await startHttpServer((_req, res) => {
    res.writeHead(clock.now() >= burstFrom ? 500 : 200, { 'content-type': 'text/plain' });
    res.end(clock.now() >= burstFrom ? 'upstream error' : 'ok');
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([moto.stop(), codedeploy.stop(), lambda.close(), app.close()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  codedeploy.reset();
  codedeploy.on(PUT, (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));
  lambda.invokes.length = 0;
  clock = new FakeClock();
  burstFrom = Infinity;
  output = captureOutput();
});
afterEach(() => output.restore());

function bakeConfig(window: string): string {
  const path = join(dir, `greenlight-${++n}.yml`);
  writeFileSync(
    path,
    [
      `targets: { test: "${app.url}", prod: "${app.url}" }`,
      'checks:',
      '  bake:',
      '    type: http',
      '    target: prod',
      '    requests:',
      '      - path: /health',
      '        expect: { status: 200 }',
      `    window: ${window}`,
      'hooks:',
      '  AfterAllowTraffic: [bake]',
    ].join('\n'),
  );
  return path;
}

function hookAt(path: string, gate: Omit<GateOptions, 'clock' | 'table'> = {}) {
  return createHookHandler('AfterAllowTraffic', {
    configPath: path,
    metrics: false,
    gate: { clock, table: TABLE, ...gate },
  });
}

const bakeHook = (window: string) => hookAt(bakeConfig(window));

function hookEvent() {
  return { DeploymentId: `d-BAKE${++n}`, LifecycleEventHookExecutionId: `exec-${n}-opaque==` };
}

/** Runs the event, then every continuation the hook asked Lambda for, one slice at a time. */
async function runChain(
  hook: ReturnType<typeof bakeHook>,
  event: object,
  beforeSlice: (invoke: RecordedInvoke, slice: number) => Promise<'run' | 'drop'> = async () => 'run',
): Promise<HookOutcome[]> {
  const outcomes = [await hook(event, clock.context(SLICE_MS, `req-${++n}`))];
  for (let handled = 0; handled < lambda.invokes.length; handled++) {
    const invoke = lambda.invokes[handled]!;
    if ((await beforeSlice(invoke, handled + 1)) === 'drop') continue;
    outcomes.push(await hook(invoke.payload, clock.context(SLICE_MS, `req-${++n}`)));
  }
  return outcomes;
}

const reports = () => codedeploy.callsOf(PUT).map((c) => c.body);

describe('a 30-minute bake window across invocations', () => {
  it('reports Succeeded once, after 31 measurements over four slices', async () => {
    const event = hookEvent();
    const outcomes = await runChain(bakeHook('{ durationMinutes: 30, intervalSeconds: 60 }'), event);

    expect(reports()).toEqual([
      {
        deploymentId: event.DeploymentId,
        lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
        status: 'Succeeded',
      },
    ]);
    expect(lambda.invokes.map((i) => i.payload.greenlightSlice)).toEqual([1, 2, 3]);
    expect(
      lambda.invokes.every(
        (i) => i.invocationType === 'Event' && i.functionName.endsWith(':CodeDeployHook_bake'),
      ),
    ).toBe(true);
    const last = outcomes.at(-1)!;
    expect(last.status).toBe('Succeeded');
    expect(last.reason).toBe('all 1 gating check passed');
    const bake = last.verdict!.checks[0]!;
    expect(bake.message).toBe('31 of 31 measurements over 30 min passed');
    expect((bake.details!.measurements as unknown[]).length).toBe(31);
    expect(bake.assertions).toHaveLength(31);
    expect(outcomes.slice(0, -1).every((o) => o.delivery === 'not-reported')).toBe(true);
  });

  it('fails at the first measurement past failureLimit, with its evidence in the reason', async () => {
    const event = hookEvent();
    burstFrom = clock.now() + 12 * 60_000;
    const outcomes = await runChain(
      bakeHook('{ durationMinutes: 30, intervalSeconds: 60, failureLimit: 1 }'),
      event,
    );

    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    const last = outcomes.at(-1)!;
    expect(last.reason).toMatch(/^'bake' failed: measurement 14 of 31 failed at 2026-01-01T12:13:00\.000Z: /);
    expect(last.reason).toMatch(/status: expected 200, got 500/);
    expect(last.reason).toContain('(2 not passed, failureLimit 1)');
    const measurements = last.verdict!.checks[0]!.details!.measurements as Array<{
      n: number;
      outcome: string;
    }>;
    expect(measurements.map((m) => m.outcome)).toEqual([...Array(12).fill('passed'), 'failed', 'failed']);
    expect(lambda.invokes).toHaveLength(1);
  });

  it('does not fork the chain when a continuation is delivered twice', async () => {
    const event = hookEvent();
    const hook = bakeHook('{ durationMinutes: 30, intervalSeconds: 60 }');
    const copies: Array<Promise<HookOutcome>> = [];
    const outcomes = await runChain(hook, event, async (invoke, slice) => {
      if (slice === 1) {
        // One copy arrives while the first is at work, one after it has handed over.
        const inFlight = app.requests.length + 3;
        const watcher = setInterval(() => {
          if (app.requests.length < inFlight) return;
          clearInterval(watcher);
          copies.push(hook(invoke.payload, clock.context(30_000, `dup-${++n}`)));
        }, 1);
      }
      if (slice === 2) copies.push(hook(lambda.invokes[0]!.payload, clock.context(SLICE_MS, `late-${++n}`)));
      return 'run';
    });
    const duplicates = await Promise.all(copies);

    expect(reports().map((r) => r.status)).toEqual(['Succeeded']);
    expect(lambda.invokes.map((i) => i.payload.greenlightSlice)).toEqual([1, 2, 3]);
    expect(duplicates.map((d) => [d.delivery, d.reason.replace(/ until .*/, '')])).toEqual([
      ['not-reported', expect.stringMatching(/^slice 1 is owned by req-\d+$/)],
      ['not-reported', 'handed to slice 2'],
    ]);
    expect(outcomes.at(-1)!.verdict!.checks[0]!.message).toBe('31 of 31 measurements over 30 min passed');
  });

  it('carries on after its continuation is lost, from the measurements saved before', async () => {
    const event = hookEvent();
    const hook = bakeHook('{ durationMinutes: 30, intervalSeconds: 60 }');
    const outcomes = await runChain(hook, event, async (_invoke, slice) => {
      if (slice !== 1) return 'run';
      // The invoking process died after the hand-over: slice 1 never runs. Lambda's retry of
      // the first invocation arrives three minutes later and takes the gate over.
      clock.advance(3 * 60_000);
      await hook(event, clock.context(SLICE_MS, `retry-${++n}`));
      return 'drop';
    });

    expect(reports().map((r) => r.status)).toEqual(['Succeeded']);
    const check = outcomes.at(-1)!.verdict!.checks[0]!;
    const measurements = check.details!.measurements as Array<{ n: number }>;
    // Slice 0 measured minutes 0 to 9; the retry came at minute 12: 11 and 12 are missed, not made up.
    expect(measurements.slice(0, 10).map((m) => m.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(measurements[10]!.n).toBe(13);
    expect(check.message).toBe('29 of 29 measurements over 30 min passed, 2 missed');
    const item = await dynamo.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `hook#${event.LifecycleEventHookExecutionId}` } },
      }),
    );
    expect(item.Item!.reported).toEqual({ S: 'Succeeded' });
  });

  it('takes over from a slice that froze mid-window, keeping what it measured', async () => {
    const event = hookEvent();
    const path = bakeConfig('{ durationMinutes: 30, intervalSeconds: 60 }');
    // The first invocation's DynamoDB stops answering after its sixth write: a frozen process.
    let writes = 0;
    const freezing: () => Promise<DynamoSender> = async () => {
      const real = await defaultDynamoClient();
      return {
        send: ((command: { constructor: { name: string } }, options?: unknown) =>
          command.constructor.name === 'GetItemCommand' || ++writes <= 6
            ? real.send(command as never, options as never)
            : new Promise(() => {})) as DynamoSender['send'],
      };
    };
    void hookAt(path, { dynamo: freezing })(event, clock.context(SLICE_MS, `frozen-${++n}`));
    while (writes <= 6) await new Promise((resolve) => setImmediate(resolve));

    const outcomes = await runChain(hookAt(path), event);

    expect(reports().map((r) => r.status)).toEqual(['Succeeded']);
    const measurements = outcomes.at(-1)!.verdict!.checks[0]!.details!.measurements as Array<{ n: number }>;
    // Four measurements were saved before the freeze; the take-over waited out the lease.
    expect(measurements.slice(0, 4).map((m) => m.n)).toEqual([1, 2, 3, 4]);
    expect(measurements[4]!.n).toBeGreaterThan(5);
    expect(measurements.at(-1)!.n).toBe(31);
    expect(outcomes[0]!.delivery).toBe('not-reported');
    expect(
      output
        .lines()
        .some((l) => l.message === 'took over a hook execution whose owner stopped renewing its lease'),
    ).toBe(true);
  });

  it('stands down when CodeDeploy delivers the original invocation again', async () => {
    const event = hookEvent();
    const hook = bakeHook('{ durationMinutes: 5, intervalSeconds: 60 }');
    await runChain(hook, event);
    const again = await hook(event, clock.context(SLICE_MS, `again-${++n}`));

    expect(again.delivery).toBe('not-reported');
    expect(again.reason).toBe('already reported Succeeded');
    expect(reports()).toHaveLength(1);
  });

  it('fails closed at once when the window cannot fit in the hook’s hour', async () => {
    const outcomes = await runChain(bakeHook('{ durationMinutes: 90, intervalSeconds: 60 }'), hookEvent());
    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    expect(outcomes[0]!.reason).toBe(
      'config error: a 90-minute window cannot finish within the 55 minutes this hook may wait',
    );
  });
});
