import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { verifyWebhookSignature } from '../../hooks/notify/webhook';
import { AwsJsonServer } from '../support/aws-json-server';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { MotoServer } from '../support/moto-server';
import { invoke, packageStack, unpack, type InvokeResult, type PackagedStack } from './artifact-kit';

// The ECS built-in hook of the platform stack as a platform team deploys it: one
// `serverless package --param="mode=platform"` whose location template is filled from the
// invocation's cluster and service and a field of the hook's `hookDetails`, one function unzipped
// outside the project and run on the runtime's Node line, serving several services whose configs
// live in S3 (moto). ECS's DescribeServiceDeployments (for the rollback check) is a local stand-in.
jest.setTimeout(300_000);

const run = randomBytes(3).toString('hex');
const BUCKET = `platform-ecs-${run}`;
const ARN = 'arn:aws:ecs:eu-west-1:123456789012';
const SIGNING_SECRET = `cart-signing-secret-${run}`;
const moto = new MotoServer();
const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
let stack: PackagedStack;
let green: TestServer;
let receiver: TestServer;
let s3: S3Client;
let taskRoot: string;

function config(check: string, path: string, notify = ''): string {
  return `targets: { test: "${green.url}" }
checks:
  ${check}:
    type: http
    requests: [{ path: ${path}, expect: { status: 200 } }]
hooks:
  POST_TEST_TRAFFIC_SHIFT: [${check}]
${notify}`;
}

async function putConfig(service: string, env: string, text: string): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: `greenlight/shop/${service}/${env}.yml`, Body: text }),
  );
}

beforeAll(async () => {
  green = await startHttpServer((req, res) => {
    res.writeHead(req.url === '/cart/health' || req.url === '/cart/v2' ? 200 : 503).end();
  });
  receiver = await startHttpServer((_req, res) => res.end('ok'));
  await Promise.all([moto.start(), ecs.start()]);
  ecs.on('DescribeServiceDeployments', (call) => ({
    body: {
      serviceDeployments: (call.body.serviceDeploymentArns as string[]).map((serviceDeploymentArn) => ({
        serviceDeploymentArn,
        status: 'IN_PROGRESS',
      })),
      failures: [],
    },
  }));
  s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  await putConfig(
    'cart',
    'prod',
    config(
      'cart-smoke',
      '/cart/health',
      `notify:
  on: [failed, succeeded]
  webhook:
    - url: "${receiver.url}/cart"
      secret: "${SIGNING_SECRET}"
`,
    ),
  );
  await putConfig('checkout', 'prod', config('checkout-smoke', '/checkout/health'));
  // A service whose webhook would have the shared hook POST to a host inside the VPC.
  await putConfig(
    'rogue',
    'prod',
    config(
      'rogue-smoke',
      '/cart/health',
      `notify:
  webhook:
    - url: "https://10.0.0.5/hook?token=rogue-${run}"
      secret: "rogue-signing-secret-0001"
`,
    ),
  );

  stack = await packageStack('{}\n', [
    'mode=platform',
    `configLocation=s3://${BUCKET}/greenlight/{cluster}/{service}/{hookDetails.env}.yml`,
    'ecsServices=shop/cart,shop/checkout,shop/rogue',
    'allowedHosts=127.0.0.1',
    'allowedNotifyHosts=127.0.0.1',
  ]);
  taskRoot = unpack(stack.functions.get('ecsLifecycleHook')!);
});

afterAll(async () => {
  await Promise.all([green?.close(), receiver?.close(), moto.stop(), ecs.stop()]);
  if (taskRoot) rmSync(taskRoot, { recursive: true, force: true });
  stack?.remove();
});

let executions = 0;
function ecsEvent(service: string) {
  const serviceArn = `${ARN}:service/shop/${service}`;
  return {
    executionId: `ecs-${run}-${++executions}`,
    lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
    resourceArn: `${ARN}:service-deployment/shop/${service}/${run}${executions}`,
    executionDetails: {
      testTrafficWeights: { [`${ARN}:service-revision/shop/${service}/2`]: 100 },
      productionTrafficWeights: { [`${ARN}:service-revision/shop/${service}/1`]: 100 },
      serviceArn,
      targetServiceRevisionArn: `${ARN}:service-revision/shop/${service}/2`,
    },
    hookDetails: { env: 'prod' },
  };
}

/** Invokes the one packaged ECS hook function for these services, one after another in one warm process. */
function hook(services: string[]): Promise<InvokeResult> {
  return invoke(stack.functions.get('ecsLifecycleHook')!, services.map(ecsEvent), {
    timeoutS: 60,
    taskRoot,
    env: { AWS_ENDPOINT_URL: moto.url, AWS_ENDPOINT_URL_ECS: ecs.url },
  });
}

const hookStatuses = (result: InvokeResult) =>
  result.records.map((record) => ('result' in record ? record.result : record));
const statusLines = (result: InvokeResult) => result.logs.filter((line) => line.message === 'hook status');
const checkNames = (result: InvokeResult) =>
  result.logs
    .filter((line) => line.message === 'check result')
    .map((line) => (line.check as { name: string }).name);

describe('the packaged platform ECS hook for many services', () => {
  it('carries the platform settings, with IAM scoped to the listed services and the config prefix', () => {
    const fn = stack.functions.get('ecsLifecycleHook')!;
    expect(fn.environment).toMatchObject({
      GREENLIGHT_CONFIG: `s3://${BUCKET}/greenlight/{cluster}/{service}/{hookDetails.env}.yml`,
      GREENLIGHT_TENANT_PREFIX: 'greenlight/{application}/',
      GREENLIGHT_ALLOWED_NOTIFY_HOSTS: '127.0.0.1',
    });
    const policy = JSON.stringify(stack.template.Resources.IamRoleLambdaExecution!.Properties);
    expect(policy).toContain(`s3:::${BUCKET}/greenlight/*/*/*.yml`);
    for (const service of ['cart', 'checkout', 'rogue']) {
      expect(policy).toContain(`service-deployment/shop/${service}/*`);
      expect(policy).toContain(`secret:greenlight/${service}/*`);
    }
    // No notifyDefaults and no allowedNotifyTopics: the role may publish nowhere.
    expect(policy).not.toContain('sns:Publish');
    expect(policy).not.toContain('events:PutEvents');
  });

  it('gives each service its own checks and hookStatus, and picks up a config change without repackaging', async () => {
    const first = await hook(['cart', 'checkout']);
    expect(first.node.major).toBe(22);
    expect(hookStatuses(first)).toEqual([{ hookStatus: 'SUCCEEDED' }, { hookStatus: 'FAILED' }]);
    expect(checkNames(first)).toEqual(['cart-smoke', 'checkout-smoke']);
    expect(statusLines(first).map((line) => line.hookStatus)).toEqual(['SUCCEEDED', 'FAILED']);
    expect(String(statusLines(first)[1]!.reason)).toContain("'checkout-smoke' failed");

    // Cart's own webhook heard its verdict once, signed; checkout configured none.
    expect(receiver.requests).toHaveLength(1);
    const [delivery] = receiver.requests;
    expect(delivery!.url).toBe('/cart');
    expect(
      verifyWebhookSignature(
        delivery!.body,
        String(delivery!.headers['x-greenlight-signature']),
        SIGNING_SECRET,
      ),
    ).toBeUndefined();
    expect(JSON.parse(delivery!.body)).toMatchObject({
      trigger: 'succeeded',
      status: 'Succeeded',
      deployment: { platform: 'ecs', cluster: 'shop', service: 'cart' },
    });

    // Cart's team publishes a new config; the same unzipped function reads it on its next run.
    await putConfig('cart', 'prod', config('cart-smoke-v2', '/cart/v2'));
    const second = await hook(['cart']);
    expect(checkNames(second)).toEqual(['cart-smoke-v2']);
    expect(hookStatuses(second)).toEqual([{ hookStatus: 'SUCCEEDED' }]);
  });

  it('refuses a service’s webhook to a host off the notification allow-list, without printing its URL', async () => {
    const before = receiver.requests.length;
    const result = await hook(['rogue']);
    expect(hookStatuses(result)).toEqual([{ hookStatus: 'FAILED' }]);
    expect(String(statusLines(result)[0]!.reason)).toContain(
      `s3://${BUCKET}/greenlight/shop/rogue/prod.yml: notify.webhook[0].url: tenant rule "notification endpoints on the platform’s allow-list": a webhook on 10.0.0.5 is not on the platform's notification allow-list (allowedNotifyHosts: 127.0.0.1)`,
    );
    expect(checkNames(result)).toEqual([]);
    expect(result.stdout + result.stderr).not.toContain(`rogue-${run}`);
    expect(receiver.requests).toHaveLength(before);
  });
});
