import { codeDeployServer } from '../support/aws-json-server';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { verifyWebhookSignature } from '../../hooks/notify/webhook';
import type { GreenlightEvent } from '../../hooks/notify/greenlight-event';
import { invoke, packageStack, verdicts, type PackagedStack } from './artifact-kit';

// Notifications from a packaged hook: the AfterAllowTestTraffic zip, unzipped outside the project
// and run as the Lambda runtime runs it, signs its verdict to the service's webhook and sends it
// to the platform's Slack webhook (GREENLIGHT_NOTIFY), both real servers on loopback, beside its
// report to a local CodeDeploy.
jest.setTimeout(300_000);

const SECRET = 'artifact-signing-secret-01';
const CONFIG = `targets:
  test: "\${env:GREEN_URL}"
checks:
  smoke:
    type: http
    requests:
      - path: /health
        expect: { status: 200 }
hooks:
  AfterAllowTestTraffic: [smoke]
notify:
  webhook:
    - url: "\${env:NOTIFY_URL}"
      secret: "\${env:NOTIFY_SECRET}"
`;

const codedeploy = codeDeployServer();
let stack: PackagedStack;
let green: TestServer;
let webhook: TestServer;
let slack: TestServer;

beforeAll(async () => {
  green = await startHttpServer((_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('warming up');
  });
  webhook = await startHttpServer((_req, res) => res.end('ok'));
  slack = await startHttpServer((_req, res) => res.end('ok'));
  await codedeploy.start();
  codedeploy.on('PutLifecycleEventHookExecutionStatus', (call) => ({
    body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId },
  }));
  stack = await packageStack(CONFIG);
});
afterAll(async () => {
  stack?.remove();
  await Promise.all([green?.close(), webhook?.close(), slack?.close(), codedeploy.stop()]);
});

describe('a packaged hook', () => {
  it('reports its verdict and sends it, signed, to each configured channel exactly once', async () => {
    const fn = stack.functions.get('afterAllowTestTraffic')!;

    const result = await invoke(
      fn,
      [{ DeploymentId: 'd-ARTNOTIFY', LifecycleEventHookExecutionId: 'art-notify-1' }],
      {
        timeoutS: 60,
        env: {
          AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.url,
          GREEN_URL: green.url,
          NOTIFY_URL: `${webhook.url}/greenlight`,
          NOTIFY_SECRET: SECRET,
          GREENLIGHT_NOTIFY: JSON.stringify({ slack: [{ webhookUrl: `${slack.url}/services/T/B/art` }] }),
          AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
        },
      },
    );

    expect(result.records).toEqual([
      { result: expect.objectContaining({ status: 'Failed', delivery: 'reported' }) },
    ]);
    expect(codedeploy.callsOf('PutLifecycleEventHookExecutionStatus').map((c) => c.body.status)).toEqual([
      'Failed',
    ]);
    expect(webhook.requests).toHaveLength(1);
    const [request] = webhook.requests;
    expect(
      verifyWebhookSignature(request!.body, String(request!.headers['x-greenlight-signature']), SECRET),
    ).toBeUndefined();
    const event = JSON.parse(request!.body) as GreenlightEvent;
    expect(event).toMatchObject({
      trigger: 'failed',
      status: 'Failed',
      reason: verdicts(result)[0]!.reason,
      deployment: { platform: 'codedeploy', id: 'd-ARTNOTIFY', lifecycleEvent: 'AfterAllowTestTraffic' },
      checks: [
        {
          name: 'smoke',
          type: 'http',
          outcome: 'failed',
          firstFailingAssertion: { what: 'GET /health status', expected: '200', actual: '503' },
        },
      ],
      links: { logsInsights: { logGroup: `/aws/lambda/${fn.name}` } },
    });
    expect(slack.requests).toHaveLength(1);
    expect((JSON.parse(slack.requests[0]!.body) as { text: string }).text).toContain('greenlight failed: ');
    const sent = result.logs
      .filter((line) => line.message === 'notification sent')
      .map((line) => line.channel);
    expect(sent.sort()).toEqual([`slack 127.0.0.1:${slack.port}`, `webhook 127.0.0.1:${webhook.port}`]);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });
});
