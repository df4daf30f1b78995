// The hook adapter against a local CodeDeploy that speaks JSON 1.1, through the real SDK client.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHookHandler, type HookHandler } from '../../hooks/hook-handler';
import { ReportError } from '../../lib/errors';
import { codeDeployServer, downFor, type AwsReply } from '../support/aws-json-server';
import { captureOutput } from '../support/capture-output';
import { scriptedCheckType } from '../support/test-check-types';

const PUT = 'PutLifecycleEventHookExecutionStatus';
const server = codeDeployServer();
const dir = mkdtempSync(join(tmpdir(), 'greenlight-hooks-'));
let output: ReturnType<typeof captureOutput>;
let fileCount = 0;

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await server.start();
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  server.reset();
  server.on(PUT, (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));
  output = captureOutput();
});
afterEach(() => output.restore());

/** A handler reading its own config file; each test gets a fresh path, so the per-container cache does not leak between tests. */
function hookWith(
  configText: string | undefined,
  event: Parameters<typeof createHookHandler>[0] = 'AfterAllowTestTraffic',
): HookHandler {
  const path = join(dir, `greenlight-${++fileCount}.yml`);
  if (configText !== undefined) writeFileSync(path, configText);
  return createHookHandler(event, { checkTypes: [scriptedCheckType], configPath: path });
}

function configWith(checks: Record<string, string>, extra = ''): string {
  const lines = Object.entries(checks).map(([name, options]) => `  ${name}: { type: scripted, ${options} }`);
  return `targets: { test: "http://127.0.0.1:8080" }\nchecks:\n${lines.join('\n')}\nhooks:\n  AfterAllowTestTraffic: [${Object.keys(checks).join(', ')}]\n${extra}`;
}

let executionCounter = 0;
function hookEvent() {
  executionCounter++;
  return { DeploymentId: 'd-TESTDEPL1', LifecycleEventHookExecutionId: `exec-${executionCounter}-opaque==` };
}

/** A Lambda context whose budget runs down in real time. */
function lambdaContext(budgetMs: number) {
  const end = Date.now() + budgetMs;
  return { getRemainingTimeInMillis: () => end - Date.now(), awsRequestId: 'req-1' };
}

function reports() {
  return server.callsOf(PUT).map((c) => c.body);
}

describe('the CodeDeploy hook reports exactly once, over the wire', () => {
  it('reports Succeeded with the camelCase fields when every check passes', async () => {
    const event = hookEvent();
    const outcome = await hookWith(configWith({ a: 'behaviour: pass', b: 'behaviour: pass' }))(
      event,
      lambdaContext(30_000),
    );
    expect(reports()).toEqual([
      {
        deploymentId: event.DeploymentId,
        lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
        status: 'Succeeded',
      },
    ]);
    const call = server.callsOf(PUT)[0]!;
    expect(call.target).toBe('CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus');
    expect(call.contentType).toBe('application/x-amz-json-1.1');
    expect(outcome).toMatchObject({
      status: 'Succeeded',
      delivery: 'reported',
      reason: 'all 2 gating checks passed',
    });
  });

  it('reports Failed when one check fails, naming it in the log', async () => {
    const outcome = await hookWith(configWith({ ok: 'behaviour: pass', health: 'behaviour: fail' }))(
      hookEvent(),
      lambdaContext(30_000),
    );
    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    expect(outcome.reason).toBe("'health' failed: GET /health returned 503, expected 200");
    const verdictLine = output.lines().find((l) => l.message === 'verdict');
    expect(verdictLine).toMatchObject({
      status: 'Failed',
      lifecycleEvent: 'AfterAllowTestTraffic',
      deploymentId: 'd-TESTDEPL1',
    });
  });

  it('reports Failed when a check throws, with the exception as the reason', async () => {
    const outcome = await hookWith(configWith({ boom: 'behaviour: throw, message: "socket hang up"' }))(
      hookEvent(),
      lambdaContext(30_000),
    );
    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    expect(outcome.reason).toBe("'boom' error: threw: socket hang up");
  });

  it('reports Failed before the Lambda deadline when a check hangs and ignores its signal', async () => {
    const budgetMs = 2_500;
    const started = Date.now();
    const outcome = await hookWith(
      configWith({ stuck: 'behaviour: hang-ignoring-signal' }, 'runner: { reportReserveMs: 1000 }\n'),
    )(hookEvent(), lambdaContext(budgetMs));
    const elapsed = Date.now() - started;
    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    expect(elapsed).toBeLessThan(budgetMs);
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(outcome.reason).toMatch(/^'stuck' error: did not finish before the hook deadline/);
  });

  it('reports Failed at once when the remaining time is less than the report reserve', async () => {
    const outcome = await hookWith(configWith({ a: 'behaviour: pass' }))(hookEvent(), lambdaContext(5_000));
    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    expect(outcome.reason).toMatch(
      /^not enough time to run checks: \d+ ms left, 10000 ms reserved for reporting$/,
    );
  });

  it.each([
    ['missing', undefined, /config error: cannot read config .*greenlight-\d+\.yml: file not found/],
    ['invalid YAML', 'targets: [\n', /config error: .*: invalid YAML at line 2, column 1/],
    [
      'failing validation',
      'targets: { test: "http://x" }\nchecks:\n  a: { type: scripted, behaviour: sometimes }\n',
      /config error: .*: checks\.a\.behaviour: expected one of "pass", .*got "sometimes"/,
    ],
  ])('reports Failed with the config error when the config file is %s', async (_what, text, reason) => {
    const outcome = await hookWith(text)(hookEvent(), lambdaContext(30_000));
    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    expect(outcome.reason).toMatch(reason);
    expect(
      output.lines().some((l) => l.level === 'ERROR' && String(l.reason).startsWith('config error:')),
    ).toBe(true);
  });

  it('reports Failed before the deadline when resolving the config never finishes', async () => {
    const path = join(dir, 'slow-resolver.yml');
    writeFileSync(path, 'targets: { test: "${never:answers}" }\n');
    const hook = createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath: path,
      resolvers: { never: () => new Promise<string>(() => {}) },
    });
    const started = Date.now();
    const outcome = await hook(hookEvent(), lambdaContext(2_500));
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    expect(outcome.reason).toMatch(
      /^hook error: loading the config took longer than the \d+ ms the Lambda had left$/,
    );
  });

  it('retries ThrottlingException twice, then reports once', async () => {
    server.script(
      PUT,
      { error: 'ThrottlingException', message: 'Rate exceeded' },
      { error: 'ThrottlingException', message: 'Rate exceeded' },
      { body: {} },
    );
    const outcome = await hookWith(configWith({ a: 'behaviour: pass' }))(hookEvent(), lambdaContext(30_000));
    expect(reports().map((r) => r.status)).toEqual(['Succeeded', 'Succeeded', 'Succeeded']);
    expect(outcome.delivery).toBe('reported');
  });

  it('retries a 5xx answer, then reports once', async () => {
    server.script(PUT, { status: 503, error: 'ServiceUnavailable', message: 'try later' }, { body: {} });
    const outcome = await hookWith(configWith({ a: 'behaviour: fail' }))(hookEvent(), lambdaContext(30_000));
    expect(reports().map((r) => r.status)).toEqual(['Failed', 'Failed']);
    expect(outcome.delivery).toBe('reported');
  });

  it('returns normally on a second invocation with the same ids that CodeDeploy says is already completed', async () => {
    const hook = hookWith(configWith({ a: 'behaviour: pass' }));
    const event = hookEvent();
    let seen = 0;
    server.on(PUT, () =>
      ++seen === 1
        ? { body: {} }
        : {
            error: 'LifecycleEventAlreadyCompletedException',
            message: `The lifecycle event is already completed`,
          },
    );
    const first = await hook(event, lambdaContext(30_000));
    const second = await hook(event, lambdaContext(30_000));
    expect([first.delivery, second.delivery]).toEqual(['reported', 'already-completed']);
    expect(reports()).toHaveLength(2);
    expect(
      output.lines().some((l) => l.level === 'WARN' && String(l.message).includes('already reported')),
    ).toBe(true);
  });

  it('throws a ReportError within the deadline when CodeDeploy never answers', async () => {
    server.on(PUT, () => ({ hang: true }));
    const started = Date.now();
    const error = await hookWith(configWith({ a: 'behaviour: pass' }, 'runner: { reportReserveMs: 1500 }\n'))(
      hookEvent(),
      lambdaContext(4_000),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReportError);
    expect((error as Error).message).toBe('no answer from CodeDeploy within 1500 ms');
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('throws a ReportError naming the AWS error when CodeDeploy refuses the report', async () => {
    server.script(PUT, {
      error: 'AccessDeniedException',
      message: 'not authorized to perform codedeploy:PutLifecycleEventHookExecutionStatus',
    });
    await expect(
      hookWith(configWith({ a: 'behaviour: pass' }))(hookEvent(), lambdaContext(30_000)),
    ).rejects.toThrow(
      'could not report Succeeded to CodeDeploy: AccessDeniedException: not authorized to perform codedeploy:PutLifecycleEventHookExecutionStatus',
    );
    expect(reports()).toHaveLength(1);
  });
});

describe('a report CodeDeploy does not take at once', () => {
  const OUTAGE: AwsReply[] = [
    { status: 500, error: 'InternalFailure', message: 'internal failure' },
    { error: 'ThrottlingException', message: 'Rate exceeded' },
  ];
  const accepted: Array<Record<string, unknown>> = [];
  beforeEach(() => {
    accepted.length = 0;
  });
  const accept = (call: { body: Record<string, unknown> }) => {
    accepted.push(call.body);
    return { body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId } };
  };

  it('keeps sending through 8 s of 500s and throttling within a 10 s reserve, and reports exactly once', async () => {
    server.on(PUT, downFor(8_000, OUTAGE, accept));
    const event = hookEvent();

    const outcome = await hookWith(configWith({ a: 'behaviour: pass' }))(event, lambdaContext(60_000));

    expect(outcome.delivery).toBe('reported');
    expect(accepted).toEqual([
      {
        deploymentId: event.DeploymentId,
        lifecycleEventHookExecutionId: event.LifecycleEventHookExecutionId,
        status: 'Succeeded',
      },
    ]);
    // More than the five attempts one SDK call makes, and none after the one CodeDeploy took.
    const refused = reports().length - 1;
    expect(refused).toBeGreaterThan(5);
    expect(server.callsOf(PUT).at(-1)!.body).toEqual(accepted[0]);
    const retries = output
      .lines()
      .filter((l) => l.message === 'CodeDeploy did not take the report; trying again');
    expect(retries).toHaveLength(refused);
    expect(retries[0]).toMatchObject({ level: 'WARN', awsError: expect.stringMatching(/InternalFailure/) });
  }, 20_000);

  it('throws a ReportError before the Lambda deadline when CodeDeploy stays down for longer than the reserve', async () => {
    server.on(PUT, downFor(60_000, OUTAGE, accept));
    const budgetMs = 13_000;
    const started = Date.now();

    const error = await hookWith(configWith({ a: 'behaviour: pass' }))(
      hookEvent(),
      lambdaContext(budgetMs),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(Date.now() - started).toBeLessThan(budgetMs);
    expect(error).toBeInstanceOf(ReportError);
    expect((error as Error).message).toMatch(
      /^could not report Succeeded to CodeDeploy within 10000 ms: \d+ attempts failed, the last with (InternalFailure: internal failure|ThrottlingException: Rate exceeded)$/,
    );
    expect(reports().length).toBeGreaterThan(5);
    expect(accepted).toEqual([]);
    expect(output.lines().find((l) => l.level === 'ERROR')).toMatchObject({
      message: 'could not report to CodeDeploy',
      reason: (error as Error).message,
    });
  }, 20_000);
});

describe('events it cannot report for', () => {
  it.each<[string, unknown, string]>([
    ['an event without ids', {}, 'DeploymentId is missing; LifecycleEventHookExecutionId is missing'],
    [
      'camelCase ids',
      { deploymentId: 'd-1', lifecycleEventHookExecutionId: 'x' },
      'DeploymentId is missing (found camelCase deploymentId; CodeDeploy sends DeploymentId)',
    ],
    ['a missing execution id', { DeploymentId: 'd-1' }, 'LifecycleEventHookExecutionId is missing'],
    [
      'an empty id',
      { DeploymentId: '', LifecycleEventHookExecutionId: 'x' },
      'DeploymentId must be a non-empty string, got an empty string',
    ],
    [
      'a numeric id',
      { DeploymentId: 12, LifecycleEventHookExecutionId: 'x' },
      'DeploymentId must be a non-empty string, got number',
    ],
    ['a string', 'd-123', 'expected a CodeDeploy lifecycle event object, got string'],
    ['null', null, 'expected a CodeDeploy lifecycle event object, got null'],
    ['a list', [{ DeploymentId: 'd-1' }], 'expected a CodeDeploy lifecycle event object, got a list'],
  ])('attempts no report for %s, logs why and returns', async (_what, event, why) => {
    const outcome = await hookWith(configWith({ a: 'behaviour: pass' }))(event, lambdaContext(30_000));
    expect(outcome.delivery).toBe('not-reported');
    expect(outcome.reason).toContain(why);
    expect(server.calls).toHaveLength(0);
    const logged = output.lines().find((l) => l.level === 'ERROR');
    expect(logged?.message).toBe('cannot report: the event is not a CodeDeploy lifecycle hook event');
    expect(String(logged?.reason)).toContain(why);
  });
});

describe('configuration per container', () => {
  it('reports Succeeded and says nothing was checked for an event with no checks', async () => {
    const outcome = await hookWith(configWith({ a: 'behaviour: pass' }), 'BeforeInstall')(
      hookEvent(),
      lambdaContext(30_000),
    );
    expect(reports().map((r) => r.status)).toEqual(['Succeeded']);
    expect(outcome.reason).toBe('no checks configured for BeforeInstall (runner.noChecks: succeed)');
  });

  it('reports Failed for an event with no checks when runner.noChecks is fail', async () => {
    const outcome = await hookWith(
      configWith({ a: 'behaviour: pass' }, 'runner: { noChecks: fail }\n'),
      'BeforeInstall',
    )(hookEvent(), lambdaContext(30_000));
    expect(reports().map((r) => r.status)).toEqual(['Failed']);
    expect(outcome.reason).toBe('no checks configured for BeforeInstall (runner.noChecks: fail)');
  });

  it('reads the config once per container, but retries a load that failed', async () => {
    const path = join(dir, 'cached.yml');
    const hook = createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath: path,
    });
    expect((await hook(hookEvent(), lambdaContext(30_000))).status).toBe('Failed');
    writeFileSync(path, configWith({ a: 'behaviour: pass' }));
    expect((await hook(hookEvent(), lambdaContext(30_000))).status).toBe('Succeeded');
    rmSync(path);
    expect((await hook(hookEvent(), lambdaContext(30_000))).status).toBe('Succeeded');
  });

  it('logs each check with its evidence and never a secret from the config', async () => {
    process.env.GL_TEST_API_TOKEN = 'sEcr3t-t0ken-value';
    const config = configWith({
      leaky: 'behaviour: fail, message: "upstream said ${env:GL_TEST_API_TOKEN}"',
    });
    const outcome = await hookWith(config)(hookEvent(), lambdaContext(30_000));
    const checkLine = output.lines().find((l) => l.message === 'check result');
    expect(checkLine?.check).toMatchObject({
      name: 'leaky',
      outcome: 'failed',
      assertions: [{ what: 'status', expected: 200, actual: 503, ok: false }],
    });
    expect(output.text()).not.toContain('sEcr3t-t0ken-value');
    expect(output.text()).toContain('upstream said [redacted]');
    expect(outcome.status).toBe('Failed');
    delete process.env.GL_TEST_API_TOKEN;
  });
});

describe('the shipped handlers', () => {
  it.each([
    ['before-install', 'BeforeInstall'],
    ['after-install', 'AfterInstall'],
    ['after-allow-test-traffic', 'AfterAllowTestTraffic'],
    ['before-allow-traffic', 'BeforeAllowTraffic'],
    ['after-allow-traffic', 'AfterAllowTraffic'],
  ])('handlers/%s reads GREENLIGHT_CONFIG and reports for %s', async (file, event) => {
    const path = join(dir, `shipped-${file}.yml`);
    writeFileSync(path, 'targets: { test: "http://127.0.0.1:8080" }\n');
    process.env.GREENLIGHT_CONFIG = path;
    try {
      const { handler } = (await import(`../../handlers/${file}`)) as { handler: HookHandler };
      const outcome = await handler(hookEvent(), lambdaContext(30_000));
      expect(outcome.reason).toBe(`no checks configured for ${event} (runner.noChecks: succeed)`);
      expect(reports().map((r) => r.status)).toEqual(['Succeeded']);
    } finally {
      delete process.env.GREENLIGHT_CONFIG;
    }
  });
});
