// The Slack and generic webhook channels against real HTTP servers on loopback.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { notifySchema } from '../../config/notify-schema';
import { dispatch } from '../../hooks/notify/dispatch';
import { greenlightEvent, verdictEvent, type GreenlightEvent } from '../../hooks/notify/greenlight-event';
import { sendGreenlightEvent } from '../../hooks/notify/notify';
import { sectionChannels } from '../../hooks/notify/notify-channels';
import { slackMessage } from '../../hooks/notify/slack';
import { SIGNATURE_HEADER, verifyWebhookSignature, webhookSignature } from '../../hooks/notify/webhook';
import { createLogger } from '../../lib/log';
import { clearRegisteredSecrets } from '../../lib/redact';
import { captureOutput } from '../support/capture-output';
import { schemaErrors } from './event-schema';
import { startReceiver, type Receiver } from './receivers';

const SECRET = 'whsec-0123456789abcdef';
const receivers: Receiver[] = [];
let output: ReturnType<typeof captureOutput>;

async function receiver(answer: 'ok' | 500 | 'hang'): Promise<Receiver> {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

beforeEach(() => (output = captureOutput()));
afterEach(async () => {
  output.restore();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  clearRegisteredSecrets();
});

const env = {
  AWS_REGION: 'eu-west-1',
  AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/CodeDeployHook_greenlight-prod-AfterAllowTestTraffic',
  GREENLIGHT_SERVICE: 'web',
};

function event(overrides: Partial<Parameters<typeof verdictEvent>[0]> = {}): GreenlightEvent {
  return verdictEvent(
    {
      status: 'Failed',
      reason: 'smoke failed: GET /health returned 503, expected 200',
      deployment: { platform: 'codedeploy', id: 'd-WEBHOOK01', lifecycleEvent: 'AfterAllowTestTraffic' },
      verdict: {
        status: 'Failed',
        outcome: 'failed',
        reason: 'smoke failed',
        durationMs: 20,
        checks: [
          {
            name: 'smoke',
            type: 'http',
            outcome: 'failed',
            message: 'GET /health returned 503, expected 200 <b>',
            durationMs: 11,
            advisory: false,
            assertions: [
              {
                what: 'header content-type',
                expected: 'application/json',
                actual: 'application/json',
                ok: true,
              },
              { what: 'status', expected: 200, actual: 503, ok: false },
              { what: 'body', expected: 'ok', actual: 'down', ok: false },
            ],
          },
          {
            name: 'alarms',
            type: 'alarms',
            outcome: 'passed',
            message: 'no alarm in ALARM',
            durationMs: 5,
            advisory: false,
            assertions: [],
          },
        ],
      },
      ...overrides,
    },
    { env },
  );
}

const log = createLogger();

describe('the generic webhook', () => {
  it('POSTs the event once, signed so that the receiver can verify it', async () => {
    const hook = await receiver('ok');
    const channels = sectionChannels(
      notifySchema.parse({ webhook: [{ url: `${hook.url}/greenlight`, secret: SECRET }] }),
    );
    const sent = event();

    const results = await dispatch(sent, channels, { deadline: Date.now() + 5_000, log, metrics: false });

    expect(results).toEqual([
      expect.objectContaining({ outcome: 'sent', channel: `webhook 127.0.0.1:${hook.port}` }),
    ]);
    expect(hook.requests).toHaveLength(1);
    const [request] = hook.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/greenlight');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-greenlight-event']).toBe('verdict');
    expect(request!.headers['x-greenlight-delivery']).toBe(sent.id);
    const signature = String(request!.headers[SIGNATURE_HEADER]);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(request!.body, signature, SECRET)).toBeUndefined();
    const body = JSON.parse(request!.body) as GreenlightEvent;
    expect(body).toEqual(sent);
    expect(schemaErrors(body)).toEqual([]);
    expect(request!.body).not.toContain(SECRET);
  });

  it('gives the receiver what it needs to refuse a forged, altered or replayed delivery', () => {
    const body = JSON.stringify(event());
    const now = 1_765_000_000;
    const header = webhookSignature(body, SECRET, now);

    expect(verifyWebhookSignature(body, header, SECRET, { nowSeconds: now + 10 })).toBeUndefined();
    expect(
      verifyWebhookSignature(body.replace('Failed', 'Succeeded'), header, SECRET, { nowSeconds: now }),
    ).toBe('the signature does not match');
    expect(verifyWebhookSignature(body, header, 'another-secret-0123', { nowSeconds: now })).toBe(
      'the signature does not match',
    );
    expect(verifyWebhookSignature(body, header, SECRET, { nowSeconds: now + 3_600 })).toBe(
      'signed 3600 s ago, more than the 300 s allowed',
    );
    expect(verifyWebhookSignature(body, undefined, SECRET)).toBe(`no t=...,v1=... in ${SIGNATURE_HEADER}`);
  });

  it('counts a 500 as a failed delivery and never logs the URL or the secret', async () => {
    const hook = await receiver(500);
    const url = `${hook.url}/hooks/T0KEN-IN-THE-PATH-123`;
    const channels = sectionChannels(notifySchema.parse({ webhook: [{ url, secret: SECRET }] }));
    const lines: string[] = [];

    const [result] = await dispatch(event(), channels, {
      deadline: Date.now() + 5_000,
      log,
      metrics: (line) => lines.push(line),
    });

    expect(hook.requests).toHaveLength(1);
    expect(result).toMatchObject({
      outcome: 'failed',
      reason: `webhook 127.0.0.1:${hook.port} answered 500: internal error, expected 2xx`,
    });
    expect(JSON.parse(lines[0]!)).toMatchObject({
      channel: 'webhook',
      NotificationFailed: 1,
      NotificationSent: 0,
    });
    const warning = output.lines().find((l) => l.message === 'notification not delivered');
    expect(warning).toMatchObject({ channel: `webhook 127.0.0.1:${hook.port}`, trigger: 'failed' });
    expect(output.text()).not.toContain('T0KEN-IN-THE-PATH-123');
    expect(output.text()).not.toContain(SECRET);
  });

  it('refuses a plain http URL that is not a loopback address, and a short secret', () => {
    const bad = notifySchema.safeParse({ webhook: [{ url: 'http://hooks.example.com/x', secret: 'short' }] });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
      'webhook.0.url: expected the webhook URL as an https URL (http only to a loopback address)',
      'webhook.0.secret: expected a signing secret of at least 16 characters',
    ]);
  });
});

describe('the Slack incoming webhook', () => {
  it('receives one message with the verdict, the checks with their first failing assertion, and links', async () => {
    const slack = await receiver('ok');
    const channels = sectionChannels(
      notifySchema.parse({ slack: [{ webhookUrl: `${slack.url}/services/T0/B0/XYZ` }] }),
    );
    const sent = event();

    await dispatch(sent, channels, { deadline: Date.now() + 5_000, log, metrics: false });

    expect(slack.requests).toHaveLength(1);
    const message = JSON.parse(slack.requests[0]!.body) as ReturnType<typeof slackMessage>;
    expect(message).toEqual(slackMessage(sent));
    expect(message.text).toBe(
      'greenlight failed: web AfterAllowTestTraffic (d-WEBHOOK01): Failed, smoke failed: GET /health returned 503, expected 200',
    );
    const shown = JSON.stringify(message.blocks);
    expect(shown).toContain(
      '*smoke* (http) failed: GET /health returned 503, expected 200 &lt;b&gt; — status: expected 200, got 503',
    );
    expect(shown).not.toContain('body: expected');
    expect(shown).toContain(':white_check_mark: *alarms* (alarms) passed');
    expect(shown).toContain(
      '<https://eu-west-1.console.aws.amazon.com/codesuite/codedeploy/deployments/d-WEBHOOK01?region=eu-west-1|Console>',
    );
    expect(shown).toContain('|Hook logs (Logs Insights)>');
  });

  it('is sent only the triggers its own on: lists', async () => {
    const slack = await receiver('ok');
    const channels = sectionChannels(
      notifySchema.parse({
        on: ['failed'],
        slack: [{ webhookUrl: `${slack.url}/s`, on: ['succeeded', 'skipped'] }],
      }),
    );

    expect(await dispatch(event(), channels, { deadline: Date.now() + 5_000, log, metrics: false })).toEqual(
      [],
    );
    const skipped = event({
      status: 'Succeeded',
      skipped: { reason: 'break-glass by alice: hotfix INC-42' },
    });
    await dispatch(skipped, channels, { deadline: Date.now() + 5_000, log, metrics: false });

    expect(slack.requests).toHaveLength(1);
    const message = JSON.parse(slack.requests[0]!.body) as { text: string };
    expect(message.text).toContain('greenlight skipped: web AfterAllowTestTraffic');
  });
});

describe('the event', () => {
  it('carries the deployment, the console and Logs Insights links, and a skipped verdict, conforming to the schema', () => {
    const skipped = event({
      status: 'Succeeded',
      reason: 'checks skipped',
      skipped: { reason: 'break-glass: INC-42' },
    });

    expect(schemaErrors(skipped)).toEqual([]);
    expect(skipped).toMatchObject({
      schemaVersion: 1,
      kind: 'verdict',
      trigger: 'skipped',
      status: 'Succeeded',
      service: 'web',
      skipped: { reason: 'break-glass: INC-42' },
      deployment: { platform: 'codedeploy', id: 'd-WEBHOOK01', lifecycleEvent: 'AfterAllowTestTraffic' },
    });
    expect(skipped.checks[0]!.firstFailingAssertion).toEqual({
      what: 'status',
      expected: '200',
      actual: '503',
    });
    const insights = skipped.links.logsInsights!;
    expect(insights.logGroup).toBe(env.AWS_LAMBDA_LOG_GROUP_NAME);
    expect(insights.query).toContain('filter deploymentId = "d-WEBHOOK01"');
    expect(insights.url).toMatch(
      /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#logsV2:logs-insights\$3FqueryDetail\$3D\$257E\$2528end\$257E0\$257Estart\$257E-86400\$257E/,
    );
    // The console decodes the fragment back to the query: undo each layer of its encoding.
    const decoded = unescape(decodeURIComponent(insights.url.split('logs-insights')[1]!.replace(/\$/g, '%')));
    const editor = /editorString~'([^~]*)~/.exec(decoded)![1]!;
    expect(decodeURIComponent(editor.replace(/\*/g, '%'))).toBe(insights.query);
  });

  it('links an ECS deployment to its service in the ECS console', () => {
    const ecs = verdictEvent(
      {
        status: 'Succeeded',
        reason: 'rollback in progress',
        rollback: 'service deployment is ROLLBACK_IN_PROGRESS',
        deployment: {
          platform: 'ecs',
          id: 'exec-9',
          lifecycleEvent: 'TEST_TRAFFIC_SHIFT',
          resourceArn: 'arn:aws:ecs:eu-west-1:123456789012:service-deployment/web-cluster/web/abc',
        },
      },
      { env },
    );

    expect(schemaErrors(ecs)).toEqual([]);
    expect(ecs.trigger).toBe('rollback');
    expect(ecs.links.console).toBe(
      'https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/web-cluster/services/web/deployments?region=eu-west-1',
    );
    expect(ecs.links.logsInsights!.query).toContain('filter executionId = "exec-9"');
  });

  it('keeps long texts and many checks within bounds', () => {
    const many = Array.from({ length: 70 }, (_, i) => ({
      name: `check-${i}`,
      type: 'http',
      outcome: 'failed' as const,
      message: 'x'.repeat(1_000),
      durationMs: 1,
      advisory: false,
      assertions: [
        { what: 'body', expected: 'y'.repeat(1_000), actual: { deep: 'z'.repeat(1_000) }, ok: false },
      ],
    }));
    const big = event({
      reason: 'r'.repeat(5_000),
      verdict: { status: 'Failed', outcome: 'failed', reason: 'r', durationMs: 1, checks: many },
    });

    expect(schemaErrors(big)).toEqual([]);
    expect(big.checks).toHaveLength(50);
    expect(big.checksOmitted).toBe(20);
    expect(Buffer.byteLength(JSON.stringify(big))).toBeLessThan(64 * 1024);
  });
});

describe('sendGreenlightEvent', () => {
  it('sends an approval request through the channels whose default on: includes it, with its details', async () => {
    const slack = await receiver('ok');
    const hook = await receiver('ok');
    const settings = notifySchema.parse({
      slack: [{ webhookUrl: `${slack.url}/s` }],
      webhook: [{ url: `${hook.url}/w`, secret: SECRET, on: ['failed'] }],
    });
    const request = greenlightEvent(
      {
        kind: 'approval-requested',
        trigger: 'approval-requested',
        status: 'Pending',
        reason: 'waiting for a manual approval of BeforeAllowTraffic',
        deployment: { platform: 'codedeploy', id: 'd-APPROVE1', lifecycleEvent: 'BeforeAllowTraffic' },
        details: { approveCommand: 'greenlight approve d-APPROVE1', expiresAt: '2026-12-06T05:00:00Z' },
      },
      { env },
    );

    const results = await sendGreenlightEvent(request, {
      settings,
      deadline: Date.now() + 5_000,
      log,
      metrics: false,
      env: {},
    });

    expect(results.map((r) => [r.type, r.outcome])).toEqual([['slack', 'sent']]);
    expect(hook.requests).toHaveLength(0);
    expect(schemaErrors(request)).toEqual([]);
    const message = JSON.parse(slack.requests[0]!.body) as { text: string };
    expect(message.text).toBe(
      'greenlight approval requested: web BeforeAllowTraffic (d-APPROVE1): Pending, waiting for a manual approval of BeforeAllowTraffic',
    );
  });

  it('takes the platform defaults from the caller when the platform’s own settings hold them', async () => {
    const hook = await receiver('ok');
    const platform = notifySchema.parse({ webhook: [{ url: `${hook.url}/p`, secret: SECRET }] });

    const results = await sendGreenlightEvent(event(), {
      platform,
      deadline: Date.now() + 5_000,
      log,
      metrics: false,
      env: { GREENLIGHT_NOTIFY: 'not: [valid' },
    });

    expect(results.map((r) => r.outcome)).toEqual(['sent']);
    expect(hook.requests).toHaveLength(1);
  });

  it('sends nothing, and resolves at once, when neither the service nor the platform configures a channel', async () => {
    await expect(
      sendGreenlightEvent(event(), { deadline: Date.now() + 5_000, log, metrics: false, env: {} }),
    ).resolves.toEqual([]);
  });
});
