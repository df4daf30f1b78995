// Manual approval in the CodeDeploy hook: the request is announced, `greenlight approve` /
// `reject` (the real CLI, its identity from STS) write the decision to moto's DynamoDB, and the
// hook, on a fake clock, reads it at its next poll or fails closed at the timeout.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../bin/cli';
import type { GateEvent } from '../../hooks/gate/announce';
import { createHookHandler } from '../../hooks/hook-handler';
import { codeDeployServer } from '../support/aws-json-server';
import { captureOutput } from '../support/capture-output';
import { cliIO } from '../cli/cli-io';
import { FakeClock } from '../support/fake-clock';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { MotoServer } from '../support/moto-server';
import { createStateTable } from '../support/state-table';

const PUT = 'PutLifecycleEventHookExecutionStatus';
const TABLE = 'greenlight-approvals';
const codedeploy = codeDeployServer();
const moto = new MotoServer();
const dir = mkdtempSync(join(tmpdir(), 'greenlight-approval-'));
let app: TestServer;
let clock: FakeClock;
let output: ReturnType<typeof captureOutput>;
let n = 0;

beforeAll(async () => {
  const motoUrl = await moto.start();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = motoUrl;
  process.env.AWS_ENDPOINT_URL_STS = motoUrl;
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codedeploy.start();
  await createStateTable(motoUrl, TABLE);
  app = await startHttpServer((_req, res) => {
    res.writeHead(200);
    res.end('ok');
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([moto.stop(), codedeploy.stop(), app.close()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  codedeploy.reset();
  codedeploy.on(PUT, (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));
  // Ahead of the approver's own clock, as a rehearsal's faster clock is.
  clock = new FakeClock(Date.UTC(2027, 0, 1, 12, 0, 0));
  output = captureOutput();
});
afterEach(() => output.restore());

/** The CLI as an approver runs it, with the state table in its environment. */
async function cli(...argv: string[]) {
  const { io, stdout, stderr } = cliIO({ env: { GREENLIGHT_STATE_TABLE: TABLE } });
  const code = await main(argv, io);
  return { code, stdout: stdout(), stderr: stderr() };
}

/** A hook with a smoke test and an approval; `onRequest` is what the approver does when told. */
function approvalHook(onRequest: (event: GateEvent & { kind: 'approval-requested' }) => Promise<void>) {
  const configPath = join(dir, `greenlight-${++n}.yml`);
  writeFileSync(
    configPath,
    [
      `targets: { test: "${app.url}" }`,
      'checks:',
      '  smoke: { type: http, requests: [{ path: /health, expect: { status: 200 } }] }',
      '  sign-off: { type: approval, timeoutMinutes: 20, pollSeconds: 30, message: "Release 42 to production" }',
      'hooks:',
      '  BeforeAllowTraffic: [sign-off, smoke]',
    ].join('\n'),
  );
  const events: GateEvent[] = [];
  const hook = createHookHandler('BeforeAllowTraffic', {
    configPath,
    metrics: false,
    gate: {
      clock,
      table: TABLE,
      announce: async (event) => {
        events.push(event);
        if (event.kind === 'approval-requested') await onRequest(event);
      },
    },
  });
  return { hook, events };
}

const hookEvent = () => ({ DeploymentId: `d-APPROVE${++n}`, LifecycleEventHookExecutionId: `exec-${n}==` });
const reports = () => codedeploy.callsOf(PUT).map((c) => c.body.status);

describe('manual approval', () => {
  it('reports Succeeded once approved, with the approver in the verdict and the log', async () => {
    const event = hookEvent();
    let approved;
    const { hook, events } = approvalHook(async (request) => {
      expect(request.approveCommand).toBe(`greenlight approve ${event.DeploymentId}`);
      clock.advance(3 * 60_000);
      approved = await cli('approve', event.DeploymentId, '--reason', 'dashboards look fine');
    });

    const outcome = await hook(event, clock.context(30 * 60_000, `req-${n}`));

    expect(approved).toEqual({
      code: 0,
      stdout: expect.stringMatching(
        new RegExp(
          `^approved deployment ${event.DeploymentId} \\(BeforeAllowTraffic, check 'sign-off'\\) as arn:aws:\\S+: dashboards look fine\\n$`,
        ),
      ),
      stderr: '',
    });
    expect(reports()).toEqual(['Succeeded']);
    const signOff = outcome.verdict!.checks.find((c) => c.name === 'sign-off')!;
    expect(signOff.outcome).toBe('passed');
    expect(signOff.message).toMatch(/^approved by arn:aws:\S+: dashboards look fine$/);
    expect(signOff.details).toMatchObject({
      approver: expect.stringMatching(/^arn:aws:/),
      reason: 'dashboards look fine',
    });
    expect(events.map((e) => e.kind)).toEqual(['approval-requested', 'approval-decided']);
    const logged = output.lines().find((l) => l.message === 'approval decided')!;
    expect(logged).toMatchObject({
      approver: expect.stringMatching(/^arn:aws:/),
      reason: 'dashboards look fine',
      decision: 'approved',
    });
    // The approval waited for the smoke test, listed after it in the config but run before.
    expect(outcome.verdict!.checks.map((c) => [c.name, c.outcome])).toEqual([
      ['sign-off', 'passed'],
      ['smoke', 'passed'],
    ]);
  });

  it('reports Failed with the reason when rejected', async () => {
    const event = hookEvent();
    const { hook } = approvalHook(async () => {
      expect((await cli('reject', event.DeploymentId)).code).toBe(2);
      expect((await cli('reject', event.DeploymentId, '--reason', 'error budget spent')).code).toBe(0);
    });

    const outcome = await hook(event, clock.context(30 * 60_000, `req-${n}`));

    expect(reports()).toEqual(['Failed']);
    expect(outcome.reason).toMatch(/^'sign-off' failed: rejected by arn:aws:\S+: error budget spent$/);
  });

  it('reports Failed at the timeout when nobody decides', async () => {
    const event = hookEvent();
    const { hook, events } = approvalHook(async () => {});
    const started = clock.now();

    const outcome = await hook(event, clock.context(30 * 60_000, `req-${n}`));

    expect(reports()).toEqual(['Failed']);
    expect(clock.now() - started).toBe(20 * 60_000);
    expect(outcome.reason).toBe(
      "'sign-off' failed: no decision within 20 min (requested 2027-01-01T12:00:00.000Z); failing closed",
    );
    expect(events.at(-1)).toMatchObject({ kind: 'approval-decided', decision: 'timed-out' });
    expect((await cli('approve', event.DeploymentId)).stderr).toBe(
      `greenlight approve: the approval request for deployment ${event.DeploymentId} timed out at 2027-01-01T12:20:00.000Z\n`,
    );
  });

  it('refuses an approval for another deployment, and the waiting one stays unapproved', async () => {
    const event = hookEvent();
    let refused;
    const { hook } = approvalHook(async () => {
      refused = await cli('approve', 'd-SOMEOTHER1');
    });

    const outcome = await hook(event, clock.context(30 * 60_000, `req-${n}`));

    expect(refused).toEqual({
      code: 1,
      stdout: '',
      stderr: 'greenlight approve: no approval is pending for deployment d-SOMEOTHER1\n',
    });
    expect(reports()).toEqual(['Failed']);
    expect(outcome.reason).toMatch(/no decision within 20 min/);
  });

  it('does not ask anyone when a check before it failed', async () => {
    const event = hookEvent();
    const { hook, events } = approvalHook(async () => {});
    await app.close();
    const outcome = await hook(event, clock.context(30 * 60_000, `req-${n}`));
    app = await startHttpServer((_req, res) => {
      res.writeHead(200);
      res.end('ok');
    });

    expect(reports()).toEqual(['Failed']);
    expect(events).toEqual([]);
    expect(outcome.reason).toMatch(/^'smoke' error: /);
  });
});
