// SNS and EventBridge channels through the real SDK clients against moto's server: an SQS queue
// subscribed to the topic, and a rule on the bus targeting a queue, receive what was sent.
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { notifySchema } from '../../config/notify-schema';
import { createLogger } from '../../lib/log';
import { verdictEvent, type GreenlightEvent } from '../../hooks/notify/greenlight-event';
import { dispatch } from '../../hooks/notify/dispatch';
import { sectionChannels } from '../../hooks/notify/notify-channels';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHookHandler } from '../../hooks/hook-handler';
import { verifyWebhookSignature } from '../../hooks/notify/webhook';
import { codeDeployServer } from '../support/aws-json-server';
import { scriptedCheckType } from '../support/test-check-types';
import { startReceiver } from './receivers';
import { startMoto, type Moto } from '../support/moto-server';
import { REGION } from '../support/aws-world';
import { schemaErrors } from './event-schema';

let moto: Moto;
let clients: { sns: SNSClient; events: EventBridgeClient; sqs: SQSClient };
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

const codedeploy = codeDeployServer();
const dir = mkdtempSync(join(tmpdir(), 'greenlight-notify-aws-'));

beforeAll(async () => {
  moto = await startMoto();
  // The hooks' own clients, created on first use, find moto through these.
  process.env.AWS_ENDPOINT_URL_SNS = moto.url;
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = moto.url;
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codedeploy.start();
  codedeploy.on('PutLifecycleEventHookExecutionStatus', (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));
  const config = { endpoint: moto.url, region: REGION, credentials };
  clients = { sns: new SNSClient(config), events: new EventBridgeClient(config), sqs: new SQSClient(config) };
}, 60_000);
afterAll(async () => {
  for (const client of Object.values(clients ?? {})) client.destroy();
  await moto?.stop();
  await codedeploy.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function queue(name: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

/** Every message in the queue (moto delivers synchronously: they are there when the send returns). */
async function drain(url: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const { Messages } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (!Messages?.length) return bodies;
    bodies.push(...Messages.map((m) => m.Body!));
  }
}

function failedVerdict(): GreenlightEvent {
  return verdictEvent({
    status: 'Failed',
    reason: 'smoke failed: GET /health returned 503, expected 200',
    deployment: { platform: 'codedeploy', id: 'd-AWSTEST01', lifecycleEvent: 'AfterAllowTestTraffic' },
    verdict: {
      status: 'Failed',
      outcome: 'failed',
      reason: 'smoke failed',
      durationMs: 12,
      checks: [
        {
          name: 'smoke',
          type: 'http',
          outcome: 'failed',
          message: 'GET /health returned 503, expected 200',
          durationMs: 11,
          advisory: false,
          assertions: [{ what: 'status', expected: 200, actual: 503, ok: false }],
        },
      ],
    },
  });
}

const log = createLogger();

describe('SNS channel', () => {
  it('publishes one JSON message per event, with attributes for filter policies', async () => {
    const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: 'deployments' }));
    const q = await queue('sns-subscriber');
    await clients.sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: q.arn }));
    const channels = sectionChannels(notifySchema.parse({ sns: [{ topicArn: TopicArn }] }), {
      sns: clients.sns,
    });
    const event = failedVerdict();

    const results = await dispatch(event, channels, { deadline: Date.now() + 10_000, log, metrics: false });

    expect(results).toEqual([expect.objectContaining({ type: 'sns', outcome: 'sent' })]);
    const received = await drain(q.url);
    expect(received).toHaveLength(1);
    const envelope = JSON.parse(received[0]!) as {
      Subject: string;
      Message: string;
      MessageAttributes: Record<string, { Value: string }>;
    };
    expect(envelope.Subject).toBe('greenlight Failed: greenlight AfterAllowTestTraffic');
    expect(envelope.MessageAttributes.trigger!.Value).toBe('failed');
    expect(envelope.MessageAttributes.status!.Value).toBe('Failed');
    const message = JSON.parse(envelope.Message) as GreenlightEvent;
    expect(schemaErrors(message)).toEqual([]);
    expect(message).toEqual(event);
    expect(message.checks[0]!.firstFailingAssertion).toEqual({
      what: 'status',
      expected: '200',
      actual: '503',
    });
  });

  it('counts a topic that does not exist as a failed delivery, naming the topic', async () => {
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:no-such-topic';
    const channels = sectionChannels(notifySchema.parse({ sns: [{ topicArn }] }), { sns: clients.sns });
    const lines: string[] = [];

    const [result] = await dispatch(failedVerdict(), channels, {
      deadline: Date.now() + 10_000,
      log,
      metrics: (line) => lines.push(line),
    });

    expect(result).toMatchObject({ outcome: 'failed', channel: `sns ${topicArn}` });
    expect(result!.reason).toContain(`SNS Publish to ${topicArn} failed`);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ channel: 'sns', NotificationFailed: 1, NotificationSent: 0 }),
    ]);
  });
});

describe('EventBridge channel', () => {
  it('puts one event with the documented detail-type and the event as its detail', async () => {
    await clients.events.send(new CreateEventBusCommand({ Name: 'deployments' }));
    const q = await queue('bus-target');
    await clients.events.send(
      new PutRuleCommand({
        Name: 'greenlight-verdicts',
        EventBusName: 'deployments',
        EventPattern: JSON.stringify({ source: ['greenlight'], 'detail-type': ['greenlight verdict'] }),
      }),
    );
    await clients.events.send(
      new PutTargetsCommand({
        Rule: 'greenlight-verdicts',
        EventBusName: 'deployments',
        Targets: [{ Id: 'queue', Arn: q.arn }],
      }),
    );
    const channels = sectionChannels(notifySchema.parse({ eventbridge: [{ eventBusName: 'deployments' }] }), {
      eventbridge: clients.events,
    });
    const event = failedVerdict();

    const results = await dispatch(event, channels, { deadline: Date.now() + 10_000, log, metrics: false });

    expect(results).toEqual([expect.objectContaining({ type: 'eventbridge', outcome: 'sent' })]);
    const received = (await drain(q.url)).map((body) => JSON.parse(body) as Record<string, unknown>);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ source: 'greenlight', 'detail-type': 'greenlight verdict' });
    expect(schemaErrors(received[0]!.detail)).toEqual([]);
    expect(received[0]!.detail).toEqual(event);
  });
});

describe('one verdict through every channel', () => {
  it('reaches the topic, the bus, Slack and the webhook exactly once each, all with the same event', async () => {
    const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: 'all-channels' }));
    const topicQueue = await queue('all-channels-topic');
    await clients.sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: topicQueue.arn }));
    const busQueue = await queue('all-channels-bus');
    await clients.events.send(
      new PutRuleCommand({
        Name: 'all-failures',
        EventPattern: JSON.stringify({ source: ['greenlight'], detail: { trigger: ['failed'] } }),
      }),
    );
    await clients.events.send(
      new PutTargetsCommand({ Rule: 'all-failures', Targets: [{ Id: 'queue', Arn: busQueue.arn }] }),
    );
    const [slack, webhook] = [await startReceiver('ok'), await startReceiver('ok')];
    const path = join(dir, 'greenlight.yml');
    writeFileSync(
      path,
      `targets: { test: "http://127.0.0.1:9" }
checks:
  smoke: { type: scripted, behaviour: fail }
hooks:
  AfterAllowTestTraffic: [smoke]
notify:
  sns: [{ topicArn: "${TopicArn}" }]
  eventbridge: [{}]
  slack: [{ webhookUrl: "${slack.url}/services/T/B/X" }]
  webhook: [{ url: "${webhook.url}/w", secret: "aws-test-signing-secret" }]
`,
    );
    const lines: string[] = [];
    const hook = createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath: path,
      metrics: (line) => lines.push(line),
    });

    try {
      const outcome = await hook(
        { DeploymentId: 'd-ALLCHANS1', LifecycleEventHookExecutionId: 'all-1' },
        { getRemainingTimeInMillis: () => 60_000 },
      );

      expect(outcome).toMatchObject({ status: 'Failed', delivery: 'reported' });
      const fromTopic = (await drain(topicQueue.url)).map(
        (body) => JSON.parse((JSON.parse(body) as { Message: string }).Message) as GreenlightEvent,
      );
      const fromBus = (await drain(busQueue.url)).map(
        (body) => (JSON.parse(body) as { detail: GreenlightEvent }).detail,
      );
      const fromWebhook = webhook.requests.map((r) => JSON.parse(r.body) as GreenlightEvent);
      expect([fromTopic.length, fromBus.length, slack.requests.length, fromWebhook.length]).toEqual([
        1, 1, 1, 1,
      ]);
      expect(fromBus[0]).toEqual(fromTopic[0]);
      expect(fromWebhook[0]).toEqual(fromTopic[0]);
      expect(schemaErrors(fromTopic[0])).toEqual([]);
      expect(fromTopic[0]).toMatchObject({ trigger: 'failed', deployment: { id: 'd-ALLCHANS1' } });
      expect(
        verifyWebhookSignature(
          webhook.requests[0]!.body,
          String(webhook.requests[0]!.headers['x-greenlight-signature']),
          'aws-test-signing-secret',
        ),
      ).toBeUndefined();
      const sent = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((d) => 'NotificationSent' in d)
        .map((d) => [d.channel, d.NotificationSent]);
      expect(sent).toEqual([
        ['sns', 1],
        ['eventbridge', 1],
        ['slack', 1],
        ['webhook', 1],
      ]);
    } finally {
      await Promise.all([slack.close(), webhook.close()]);
    }
  });
});
