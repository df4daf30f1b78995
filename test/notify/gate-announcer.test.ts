import { notifySchema } from '../../config/notify-schema';
import { gateAnnouncer } from '../../hooks/notify/gate-announcer';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../hooks/notify/webhook';
import { silentLogger } from '../../lib/log';
import { clearRegisteredSecrets } from '../../lib/redact';
import { captureOutput } from '../support/capture-output';
import { schemaErrors } from './event-schema';
import { startReceiver, type Receiver } from './receivers';

const SECRET = 'whsec-gate-0123456789';
let hook: Receiver;
let output: ReturnType<typeof captureOutput>;

beforeEach(async () => {
  output = captureOutput();
  hook = await startReceiver('ok');
});
afterEach(async () => {
  output.restore();
  await hook.close();
  clearRegisteredSecrets();
});

const deployment = {
  platform: 'codedeploy' as const,
  id: 'd-GATE00001',
  lifecycleEvent: 'BeforeAllowTraffic',
};
const base = { deploymentId: 'd-GATE00001', lifecycleEvent: 'BeforeAllowTraffic', check: 'sign-off' };

it('sends an approval request to the channels as a Pending approval-requested event with the commands', async () => {
  const announce = gateAnnouncer({
    settings: notifySchema.parse({ webhook: [{ url: `${hook.url}/hooks/greenlight`, secret: SECRET }] }),
    deployment,
    log: silentLogger,
    metrics: false,
  });

  await announce({
    kind: 'approval-requested',
    ...base,
    requestedAt: '2026-12-06T04:00:00.000Z',
    timeoutAt: '2026-12-06T04:30:00.000Z',
    approveCommand: 'greenlight approve d-GATE00001',
    rejectCommand: 'greenlight reject d-GATE00001 --reason "..."',
  });

  expect(hook.requests).toHaveLength(1);
  const request = hook.requests[0]!;
  const event = JSON.parse(request.body) as Record<string, unknown>;
  expect(schemaErrors(event)).toEqual([]);
  expect(event).toMatchObject({
    kind: 'approval-requested',
    trigger: 'approval-requested',
    status: 'Pending',
    deployment: { id: 'd-GATE00001', lifecycleEvent: 'BeforeAllowTraffic' },
    details: {
      check: 'sign-off',
      approve: 'greenlight approve d-GATE00001',
      reject: 'greenlight reject d-GATE00001 --reason "..."',
      timeoutAt: '2026-12-06T04:30:00.000Z',
    },
  });
  expect(
    verifyWebhookSignature(request.body, request.headers[SIGNATURE_HEADER] as string | undefined, SECRET),
  ).toBeUndefined();
});

it('leaves the decision to the verdict: an approval-decided event sends nothing', async () => {
  const announce = gateAnnouncer({
    settings: notifySchema.parse({
      webhook: [{ url: `${hook.url}/w`, secret: SECRET, on: ['approval-requested', 'failed'] }],
    }),
    deployment,
    log: silentLogger,
    metrics: false,
  });

  await announce({
    kind: 'approval-decided',
    ...base,
    decision: 'rejected',
    approver: 'arn:aws:iam::1:user/ann',
    reason: 'no',
  });

  expect(hook.requests).toHaveLength(0);
});
