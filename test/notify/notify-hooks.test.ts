// Notifications from both hook adapters: the CodeDeploy hooks (against a local CodeDeploy, through
// the real SDK client) and the ECS built-in hook, to webhook receivers on loopback.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEcsHookDecider } from '../../hooks/ecs-hook-handler';
import { createHookHandler } from '../../hooks/hook-handler';
import type { GreenlightEvent } from '../../hooks/notify/greenlight-event';
import { verifyWebhookSignature } from '../../hooks/notify/webhook';
import { clearRegisteredSecrets } from '../../lib/redact';
import { AwsJsonServer, codeDeployServer } from '../support/aws-json-server';
import { captureOutput } from '../support/capture-output';
import { ecsHookEvent, serviceDeploymentArn } from '../support/ecs-hook-events';
import { scriptedCheckType } from '../support/test-check-types';
import { schemaErrors } from './event-schema';
import { startReceiver, type Receiver } from './receivers';

const PUT = 'PutLifecycleEventHookExecutionStatus';
const SECRET = 'platform-signing-secret-0001';
const codedeploy = codeDeployServer();
const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
const dir = mkdtempSync(join(tmpdir(), 'greenlight-notify-'));
const receivers: Receiver[] = [];
let output: ReturnType<typeof captureOutput>;
let files = 0;
let executions = 0;

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codedeploy.start();
  process.env.AWS_ENDPOINT_URL_ECS = await ecs.start();
});
afterAll(async () => {
  await codedeploy.stop();
  await ecs.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  codedeploy.reset();
  codedeploy.on(PUT, (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));
  output = captureOutput();
});
afterEach(async () => {
  output.restore();
  delete process.env.GREENLIGHT_NOTIFY;
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  clearRegisteredSecrets();
});

async function receiver(answer: 'ok' | 500 | 'hang'): Promise<Receiver> {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

function configFile(text: string): string {
  const path = join(dir, `greenlight-${++files}.yml`);
  writeFileSync(path, text);
  return path;
}

function codeDeployEvent() {
  return { DeploymentId: 'd-NOTIFY001', LifecycleEventHookExecutionId: `exec-${++executions}` };
}

function lambdaContext(budgetMs: number) {
  const end = Date.now() + budgetMs;
  return { getRemainingTimeInMillis: () => end - Date.now(), awsRequestId: 'req-1' };
}

const bodies = (r: Receiver) => r.requests.map((q) => JSON.parse(q.body) as GreenlightEvent);
const deliveryLines = (lines: string[]) =>
  lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((doc) => 'NotificationSent' in doc);

describe('the CodeDeploy hook', () => {
  it('reports while a hanging channel still hangs, and returns within the reserve, counting each failed delivery', async () => {
    const [good, hanging, broken] = [await receiver('ok'), await receiver('hang'), await receiver(500)];
    let hangingAtReport: number | undefined;
    codedeploy.on(PUT, async (call) => {
      await hanging.firstRequest();
      hangingAtReport = hanging.open();
      return { body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId } };
    });
    const path = configFile(`targets: { test: "http://127.0.0.1:9" }
checks:
  smoke: { type: scripted, behaviour: fail }
hooks:
  AfterAllowTestTraffic: [smoke]
runner: { reportReserveMs: 4000 }
notify:
  timeoutMs: 1500
  webhook:
    - { url: "${good.url}/ok", secret: "${SECRET}" }
    - { url: "${hanging.url}/hang", secret: "${SECRET}" }
  slack:
    - { webhookUrl: "${broken.url}/services/T/B/X" }
`);
    const lines: string[] = [];
    const hook = createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath: path,
      metrics: (line) => lines.push(line),
    });
    const started = Date.now();

    const outcome = await hook(codeDeployEvent(), lambdaContext(60_000));

    expect(Date.now() - started).toBeLessThan(4_000);
    expect(outcome).toMatchObject({ status: 'Failed', delivery: 'reported' });
    expect(codedeploy.callsOf(PUT).map((c) => c.body.status)).toEqual(['Failed']);
    expect(hangingAtReport).toBe(1);
    await hanging.abandoned();
    expect(good.requests).toHaveLength(1);
    expect(broken.requests).toHaveLength(1);
    const [sent] = bodies(good);
    expect(schemaErrors(sent)).toEqual([]);
    expect(sent).toMatchObject({
      trigger: 'failed',
      status: 'Failed',
      reason: outcome.reason,
      deployment: { platform: 'codedeploy', id: 'd-NOTIFY001', lifecycleEvent: 'AfterAllowTestTraffic' },
      checks: [
        {
          name: 'smoke',
          outcome: 'failed',
          firstFailingAssertion: { what: 'status', expected: '200', actual: '503' },
        },
      ],
    });
    expect(
      verifyWebhookSignature(
        good.requests[0]!.body,
        String(good.requests[0]!.headers['x-greenlight-signature']),
        SECRET,
      ),
    ).toBeUndefined();
    const counted = deliveryLines(lines).map((d) => [d.channel, d.NotificationSent, d.NotificationFailed]);
    expect(counted).toEqual([
      ['slack', 0, 1],
      ['webhook', 1, 0],
      ['webhook', 0, 1],
    ]);
  });

  it('merges the platform defaults with the service’s section, sending a destination named in both once', async () => {
    const shared = await receiver('ok');
    const platformOnly = await receiver('ok');
    process.env.GREENLIGHT_NOTIFY = JSON.stringify({
      on: ['failed', 'succeeded'],
      webhook: [
        { url: `${shared.url}/all`, secret: SECRET },
        { url: `${platformOnly.url}/platform`, secret: SECRET },
      ],
    });
    const path = configFile(`targets: { test: "http://127.0.0.1:9" }
checks:
  smoke: { type: scripted, behaviour: pass }
hooks:
  AfterAllowTestTraffic: [smoke]
notify:
  webhook:
    - { url: "${shared.url}/all", secret: "${SECRET}" }
`);
    const hook = createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath: path,
      metrics: false,
    });

    const outcome = await hook(codeDeployEvent(), lambdaContext(60_000));

    expect(outcome.status).toBe('Succeeded');
    expect(bodies(shared).map((e) => e.trigger)).toEqual(['succeeded']);
    expect(bodies(platformOnly).map((e) => e.trigger)).toEqual(['succeeded']);
  });

  it('notifies a config error through the platform defaults, and an invalid platform default leaves the verdict alone', async () => {
    const platform = await receiver('ok');
    process.env.GREENLIGHT_NOTIFY = `webhook:\n  - { url: "${platform.url}/p", secret: "${SECRET}" }\n`;
    const broken = configFile('targets: { test: "http://127.0.0.1:9" }\nchecks:\n  smoke: { type: nope }\n');
    const hook = createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath: broken,
      metrics: false,
    });

    const outcome = await hook(codeDeployEvent(), lambdaContext(60_000));

    expect(outcome.status).toBe('Failed');
    expect(bodies(platform)).toEqual([
      // The event's reason is the same, on one line.
      expect.objectContaining({ trigger: 'failed', reason: outcome.reason.replace(/\s+/g, ' ') }),
    ]);
    expect(outcome.reason).toMatch(/^config error: /);

    process.env.GREENLIGHT_NOTIFY =
      'webhook: [{ url: "http://hooks.example.com/x", secret: "0123456789abcdef" }]';
    const fine = configFile(
      'targets: { test: "http://127.0.0.1:9" }\nchecks:\n  smoke: { type: scripted, behaviour: pass }\nhooks:\n  AfterAllowTestTraffic: [smoke]\n',
    );
    output.clear();
    const again = await createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath: fine,
      metrics: false,
    })(codeDeployEvent(), lambdaContext(60_000));

    expect(again.status).toBe('Succeeded');
    expect(output.text()).toContain(
      'GREENLIGHT_NOTIFY: notify.webhook[0].url: expected the webhook URL as an https URL (http only to a loopback address)',
    );
  });
});

describe('the ECS built-in hook', () => {
  const context = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'req-ecs' };

  it('notifies a recognised rollback once, and a failed stage once, and nothing for IN_PROGRESS', async () => {
    const hook = await receiver('ok');
    const path = configFile(`targets: { test: "http://127.0.0.1:9" }
checks:
  smoke: { type: scripted, behaviour: fail }
  warm: { type: scripted, behaviour: inconclusive }
hooks:
  TEST_TRAFFIC_SHIFT: [smoke]
  POST_TEST_TRAFFIC_SHIFT: [warm]
notify:
  on: [failed, rollback]
  webhook: [{ url: "${hook.url}/ecs", secret: "${SECRET}" }]
`);
    const decide = createEcsHookDecider({ checkTypes: [scriptedCheckType], configPath: path });

    ecs.script('DescribeServiceDeployments', {
      body: {
        serviceDeployments: [
          { serviceDeploymentArn: serviceDeploymentArn('rb1'), status: 'ROLLBACK_IN_PROGRESS' },
        ],
      },
    });
    const rollback = await decide(
      ecsHookEvent({ stage: 'TEST_TRAFFIC_SHIFT', executionId: 'exec-rb', deploymentId: 'rb1' }),
      context,
    );
    ecs.script('DescribeServiceDeployments', {
      body: {
        serviceDeployments: [{ serviceDeploymentArn: serviceDeploymentArn('d2'), status: 'IN_PROGRESS' }],
      },
    });
    const failed = await decide(
      ecsHookEvent({ stage: 'TEST_TRAFFIC_SHIFT', executionId: 'exec-f', deploymentId: 'd2' }),
      context,
    );
    const waiting = await decide(
      ecsHookEvent({ stage: 'POST_TEST_TRAFFIC_SHIFT', executionId: 'exec-w', deploymentId: 'd2' }),
      context,
    );

    expect([rollback.response.hookStatus, failed.response.hookStatus, waiting.response.hookStatus]).toEqual([
      'SUCCEEDED',
      'FAILED',
      'IN_PROGRESS',
    ]);
    const events = bodies(hook);
    expect(events.map((e) => [e.trigger, e.status, e.deployment.id])).toEqual([
      ['rollback', 'Succeeded', 'exec-rb'],
      ['failed', 'Failed', 'exec-f'],
    ]);
    expect(events.map(schemaErrors)).toEqual([[], []]);
    expect(events[0]).toMatchObject({
      rollback: `service deployment ${serviceDeploymentArn('rb1')} is ROLLBACK_IN_PROGRESS`,
      deployment: {
        platform: 'ecs',
        cluster: 'web-cluster',
        service: 'web',
        resourceArn: serviceDeploymentArn('rb1'),
      },
    });
  });
});
