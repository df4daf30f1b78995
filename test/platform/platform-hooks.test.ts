// The hook adapters in platform mode, in process: one CodeDeploy handler and one ECS handler serve
// several services, each reading its own config from S3 or SSM (moto's server) by the deployment's
// application and group (GetDeployment through the local CodeDeploy in front of moto), and the
// break-glass switch that lets one named deployment through.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';

import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createEcsHookDecider } from '../../hooks/ecs-hook-handler';
import { createHookHandler } from '../../hooks/hook-handler';
import { AwsJsonServer, forwardCall, type AwsCall } from '../support/aws-json-server';
import { blueGreenDeployment, type BlueGreenWorld } from '../support/aws-world';
import { captureOutput } from '../support/capture-output';
import { CodeDeployOverMoto } from '../support/codedeploy-over-moto';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { MotoServer } from '../support/moto-server';

jest.setTimeout(60_000);

const moto = new MotoServer();
const codedeploy = new CodeDeployOverMoto(() => moto.url);
// The hooks reach SSM (the break-glass lookup) through this front to moto, which counts the calls.
const ssmFront = new AwsJsonServer({ targetPrefix: 'AmazonSSM', contentType: 'application/x-amz-json-1.1' });
const toMoto = (call: AwsCall) => forwardCall(moto.url, call);
ssmFront.on('GetParameter', toMoto).on('GetParameters', toMoto);
const BUCKET = 'platform-hooks';
const PLATFORM_ENV = {
  GREENLIGHT_CONFIG: `s3://${BUCKET}/greenlight/{application}/{deploymentGroup}.yml`,
  GREENLIGHT_TENANT_PREFIX: 'greenlight/{application}/',
  GREENLIGHT_ALLOWED_HOSTS: '127.0.0.1',
  GREENLIGHT_BREAK_GLASS_PREFIX: '/greenlight-break-glass/',
};
let s3: S3Client;
let ssm: SSMClient;
let web: BlueGreenWorld;
let billing: BlueGreenWorld;
let hanging: BlueGreenWorld;
let app: TestServer;
let output: ReturnType<typeof captureOutput>;
let execution = 0;

beforeAll(async () => {
  const url = await moto.start();
  const codeDeployUrl = await codedeploy.start();
  const ssmUrl = await ssmFront.start();
  Object.assign(process.env, PLATFORM_ENV, {
    AWS_ENDPOINT_URL_S3: url,
    AWS_ENDPOINT_URL_SSM: ssmUrl,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: url,
    AWS_ENDPOINT_URL_CODEDEPLOY: codeDeployUrl,
  });
  s3 = new S3Client({ endpoint: url, forcePathStyle: true });
  ssm = new SSMClient({ endpoint: url });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  web = await blueGreenDeployment(url, 'web');
  billing = await blueGreenDeployment(url, 'billing');
  hanging = await blueGreenDeployment(url, 'hanging');
  // Each service's green answers on its own path: 200 for web, 503 for billing, never for hanging.
  app = await startHttpServer((req, res) => {
    // A green whose dependency is down: it never answers (the server closes the socket at the end).
    if (req.url === '/hanging/health') return;
    res.writeHead(req.url === '/web/health' ? 200 : 503).end();
  });
  await putConfig(web, smoke('web-smoke', '/web/health'));
  await putConfig(billing, smoke('billing-smoke', '/billing/health'));
  await putConfig(hanging, smoke('hanging-smoke', '/hanging/health'));
});

afterAll(async () => {
  await app?.close();
  await codedeploy.stop();
  await ssmFront.stop();
  await moto.stop();
  for (const name of [...Object.keys(PLATFORM_ENV), 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL_SSM'])
    delete process.env[name];
  delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  delete process.env.AWS_ENDPOINT_URL_CODEDEPLOY;
});

beforeEach(() => {
  output = captureOutput();
});
afterEach(() => output.restore());

function smoke(name: string, path: string): string {
  return `targets: { test: "${app.url}" }
checks:
  ${name}:
    type: http
    requests: [{ path: ${path}, expect: { status: 200 } }]
hooks:
  AfterAllowTestTraffic: [${name}]
  POST_TEST_TRAFFIC_SHIFT: [${name}]
`;
}

async function putConfig(world: { application: string; deploymentGroup: string }, text: string) {
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: `greenlight/${world.application}/${world.deploymentGroup}.yml`,
      Body: text,
    }),
  );
}

async function breakGlass(deployment: string, record: Record<string, unknown>) {
  await ssm.send(
    new PutParameterCommand({
      Name: `/greenlight-break-glass/${deployment}`,
      Type: 'String',
      Value: JSON.stringify({ deployment, reason: 'hotfix for INC-42', setBy: 'alice', ...record }),
      Overwrite: true,
    }),
  );
}

const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();

function invoke(world: BlueGreenWorld) {
  const handler = createHookHandler('AfterAllowTestTraffic', { metrics: false });
  const LifecycleEventHookExecutionId = `exec-${++execution}`;
  return handler(
    { DeploymentId: world.deploymentId, LifecycleEventHookExecutionId },
    { getRemainingTimeInMillis: () => 60_000 },
  ).then((outcome) => ({ ...outcome, reports: codedeploy.reportsOf(LifecycleEventHookExecutionId) }));
}

describe('one CodeDeploy hook for many services', () => {
  it('runs each service’s own checks, from its own config, and reports each verdict once', async () => {
    const [webOutcome, billingOutcome] = [await invoke(web), await invoke(billing)];
    expect(webOutcome).toMatchObject({ status: 'Succeeded', reports: ['Succeeded'] });
    expect(webOutcome.verdict!.checks.map((c) => c.name)).toEqual(['web-smoke']);
    expect(billingOutcome).toMatchObject({ status: 'Failed', reports: ['Failed'] });
    expect(billingOutcome.verdict!.checks.map((c) => c.name)).toEqual(['billing-smoke']);
    expect(billingOutcome.reason).toMatch(/billing-smoke/);
  });

  it('writes each service’s result metrics under its own application', async () => {
    const lines: Record<string, unknown>[] = [];
    const handler = createHookHandler('AfterAllowTestTraffic', {
      metrics: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    await handler(
      { DeploymentId: web.deploymentId, LifecycleEventHookExecutionId: `exec-${++execution}` },
      { getRemainingTimeInMillis: () => 60_000 },
    );
    expect(lines[0]).toMatchObject({ service: web.application, VerdictSucceeded: 1 });
  });

  it('reports Failed naming the rule when a service’s config names a host off the allow-list', async () => {
    const rogue = await blueGreenDeployment(moto.url, 'rogue');
    await putConfig(rogue, smoke('probe', '/').replace(app.url, 'http://10.0.0.7:8080'));
    const outcome = await invoke(rogue);
    expect(outcome.status).toBe('Failed');
    expect(outcome.reports).toEqual(['Failed']);
    expect(outcome.reason).toMatch(
      /^config error: s3:\/\/platform-hooks\/greenlight\/rogue-app\/rogue-dg\.yml: targets\.test: tenant rule "hosts on the platform’s allow-list": host 10\.0\.0\.7/,
    );
  });

  it('refuses a service’s own webhook off the notification allow-list, and still tells the platform’s default channel', async () => {
    const receiver = await startHttpServer((_req, res) => res.end('ok'));
    // The platform team's default webhook is trusted: no allow-list holds it back.
    process.env.GREENLIGHT_NOTIFY = JSON.stringify({
      webhook: [{ url: `${receiver.url}/platform`, secret: 'platform-signing-secret' }],
    });
    try {
      const nosy = await blueGreenDeployment(moto.url, 'nosy');
      await putConfig(
        nosy,
        `${smoke('nosy-smoke', '/web/health')}notify:
  webhook: [{ url: "${receiver.url}/tenant?key=nosy-credential", secret: "tenant-signing-secret" }]
`,
      );
      const outcome = await invoke(nosy);
      expect(outcome).toMatchObject({ status: 'Failed', reports: ['Failed'] });
      expect(outcome.reason).toBe(
        `config error: s3://${BUCKET}/greenlight/nosy-app/nosy-dg.yml: notify.webhook[0].url: tenant rule "notification endpoints on the platform’s allow-list": a webhook on 127.0.0.1 is not on the platform's notification allow-list (allowedNotifyHosts: none)`,
      );
      expect(receiver.requests.map((r) => r.url)).toEqual(['/platform']);
      expect(JSON.parse(receiver.requests[0]!.body)).toMatchObject({
        status: 'Failed',
        reason: outcome.reason,
      });
      expect(JSON.stringify(output.lines())).not.toContain('nosy-credential');
    } finally {
      delete process.env.GREENLIGHT_NOTIFY;
      await receiver.close();
    }
  });

  it('reports Failed naming the location when a service has no config', async () => {
    const lost = await blueGreenDeployment(moto.url, 'lost');
    const outcome = await invoke(lost);
    expect(outcome).toMatchObject({
      status: 'Failed',
      reason: `config error: config s3://${BUCKET}/greenlight/lost-app/lost-dg.yml does not exist (NoSuchKey)`,
      reports: ['Failed'],
    });
  });
});

describe('break-glass', () => {
  afterEach(async () => {
    for (const id of [billing.deploymentId])
      await ssm.send(new DeleteParameterCommand({ Name: `/greenlight-break-glass/${id}` })).catch(() => {});
  });

  it('passes the named deployment whose checks failed with a skipped verdict, logged and counted', async () => {
    await breakGlass(billing.deploymentId, { hooks: ['AfterAllowTestTraffic'], expiresAt: inOneHour() });
    const handler = createHookHandler('AfterAllowTestTraffic', {
      metrics: (line) => metrics.push(JSON.parse(line) as Record<string, unknown>),
    });
    const metrics: Record<string, unknown>[] = [];
    const outcome = await handler(
      { DeploymentId: billing.deploymentId, LifecycleEventHookExecutionId: 'exec-glass' },
      { getRemainingTimeInMillis: () => 60_000 },
    );
    expect(outcome.status).toBe('Succeeded');
    expect(outcome.verdict).toBeUndefined();
    expect(outcome.skipped).toMatchObject({
      by: 'break-glass',
      parameter: `/greenlight-break-glass/${billing.deploymentId}`,
    });
    expect(outcome.reason).toMatch(
      new RegExp(
        `^skipped by break-glass /greenlight-break-glass/${billing.deploymentId} \\(set by alice\\), valid until .*: hotfix for INC-42$`,
      ),
    );
    expect(codedeploy.reportsOf('exec-glass')).toEqual(['Succeeded']);
    expect(metrics).toEqual([
      expect.objectContaining({ VerdictSkipped: 1, lifecycleEvent: 'AfterAllowTestTraffic' }),
    ]);
    const verdictLine = output.lines().find((l) => l.message === 'verdict');
    expect(verdictLine).toMatchObject({ status: 'Succeeded', skipped: { by: 'break-glass' } });
    // billing's check fails at once: the switch is looked up then, and overrides that verdict.
    const messages = output.lines().map((l) => String(l.message));
    expect(messages).toContain('check result');
    expect(messages).toContain('checks stopped: the deployment was let through by break-glass');
  });

  it('makes no lookup for a deployment whose checks pass, even with a switch set', async () => {
    await breakGlass(web.deploymentId, { hooks: ['*'], expiresAt: inOneHour() });
    const metrics: Record<string, unknown>[] = [];
    const handler = createHookHandler('AfterAllowTestTraffic', {
      metrics: (line) => metrics.push(JSON.parse(line) as Record<string, unknown>),
    });
    const lookupsBefore = ssmFront.callsOf('GetParameter').length;
    try {
      const outcome = await handler(
        { DeploymentId: web.deploymentId, LifecycleEventHookExecutionId: 'exec-unused' },
        { getRemainingTimeInMillis: () => 60_000 },
      );
      expect(outcome).toMatchObject({ status: 'Succeeded', delivery: 'reported' });
      expect(outcome.skipped).toBeUndefined();
      expect(outcome.verdict!.checks.map((c) => [c.name, c.outcome])).toEqual([['web-smoke', 'passed']]);
      expect(codedeploy.reportsOf('exec-unused')).toEqual(['Succeeded']);
      // A switch could not change a Succeeded verdict: Parameter Store is not asked.
      expect(ssmFront.callsOf('GetParameter').length).toBe(lookupsBefore);
      expect(metrics.some((m) => 'VerdictSkipped' in m)).toBe(false);
      expect(metrics.some((m) => m.VerdictSucceeded === 1)).toBe(true);
    } finally {
      await ssm.send(new DeleteParameterCommand({ Name: `/greenlight-break-glass/${web.deploymentId}` }));
    }
  });

  it('stops checks still running after a moment when a switch names the deployment', async () => {
    await breakGlass(hanging.deploymentId, { hooks: ['*'], expiresAt: inOneHour() });
    const outcome = await invoke(hanging);
    expect(outcome).toMatchObject({ status: 'Succeeded', reports: ['Succeeded'] });
    expect(outcome.skipped).toMatchObject({ by: 'break-glass' });
    // The check was stopped, not left to its timeout: it never decided.
    const messages = output.lines().map((l) => String(l.message));
    expect(messages).toContain('checks stopped: the deployment was let through by break-glass');
    expect(messages).not.toContain('check result');
    await ssm.send(new DeleteParameterCommand({ Name: `/greenlight-break-glass/${hanging.deploymentId}` }));
  });

  it('does not cover the next deployment of the same service, which runs its checks', async () => {
    await breakGlass(billing.deploymentId, { hooks: ['*'], expiresAt: inOneHour() });
    expect(await invoke(billing)).toMatchObject({ status: 'Succeeded' });
    const next = await blueGreenDeploymentOf(billing);
    const outcome = await invoke(next);
    expect(outcome).toMatchObject({ status: 'Failed', reports: ['Failed'] });
    expect(outcome.skipped).toBeUndefined();
    expect(outcome.verdict!.checks.map((c) => c.name)).toEqual(['billing-smoke']);
  });

  it.each([
    ['expired', { hooks: ['*'], expiresAt: new Date(Date.now() - 1_000).toISOString() }, undefined],
    ['for another hook', { hooks: ['BeforeAllowTraffic'], expiresAt: inOneHour() }, undefined],
    ['copied from another deployment', { hooks: ['*'], expiresAt: inOneHour() }, 'd-OTHER'],
    ['malformed', { hooks: 'all', expiresAt: inOneHour() }, undefined],
  ])('runs the checks when the switch is %s', async (_, record, names) => {
    await breakGlass(billing.deploymentId, { ...record, ...(names ? { deployment: names } : {}) });
    const outcome = await invoke(billing);
    expect(outcome.status).toBe('Failed');
    expect(outcome.verdict!.checks.map((c) => c.name)).toEqual(['billing-smoke']);
  });
});

/** A second deployment of the same application and group. */
async function blueGreenDeploymentOf(world: BlueGreenWorld): Promise<BlueGreenWorld> {
  const { CodeDeployClient, CreateDeploymentCommand } = await import('@aws-sdk/client-codedeploy');
  const { deploymentId } = await new CodeDeployClient({ endpoint: moto.url }).send(
    new CreateDeploymentCommand({
      applicationName: world.application,
      deploymentGroupName: world.deploymentGroup,
      revision: { revisionType: 'AppSpecContent', appSpecContent: { content: '{}' } },
    }),
  );
  return { ...world, deploymentId: deploymentId! };
}

describe('the ECS hook in platform mode', () => {
  const serviceArn = (service: string) => `arn:aws:ecs:eu-west-1:123456789012:service/shop/${service}`;
  const event = (service: string, hookDetails: Record<string, unknown> = {}) => ({
    executionId: `ecs-${++execution}`,
    lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
    resourceArn: `arn:aws:ecs:eu-west-1:123456789012:service-deployment/shop/${service}/sd${execution}`,
    executionDetails: {
      serviceArn: serviceArn(service),
      targetServiceRevisionArn: `${serviceArn(service)}/r1`,
    },
    hookDetails,
  });

  beforeAll(async () => {
    // SSM template over the cluster, the service and a field of the hook's details.
    for (const [service, path] of [
      ['cart', '/web/health'],
      ['checkout', '/billing/health'],
    ])
      await ssm.send(
        new PutParameterCommand({
          Name: `/greenlight/configs/shop/${service}/prod`,
          Type: 'String',
          Value: smoke(`${service}-smoke`, path!),
        }),
      );
  });

  it('reads each service’s config by cluster, service and hookDetails', async () => {
    const decide = createEcsHookDecider({
      configPath: 'ssm:/greenlight/configs/{cluster}/{service}/{hookDetails.env}',
      maxWaitSeconds: 1,
      callBackDelaySeconds: 30,
      // checkout's failed smoke test would read green's tasks from ECS, which this test has none of.
      diagnoseGreen: false,
    });
    const cart = await decide(event('cart', { env: 'prod' }), { getRemainingTimeInMillis: () => 30_000 });
    const checkout = await decide(event('checkout', { env: 'prod' }), {
      getRemainingTimeInMillis: () => 30_000,
    });
    expect(cart).toMatchObject({ response: { hookStatus: 'SUCCEEDED' } });
    expect(cart.verdict!.checks.map((c) => c.name)).toEqual(['cart-smoke']);
    expect(checkout.response.hookStatus).toBe('FAILED');
    expect(checkout.verdict!.checks.map((c) => c.name)).toEqual(['checkout-smoke']);
    const missing = await decide(event('cart'), { getRemainingTimeInMillis: () => 30_000 });
    expect(missing).toMatchObject({
      response: { hookStatus: 'FAILED' },
      reason: expect.stringContaining(
        `{hookDetails.env} cannot be filled: the hook's hookDetails have no string "env"`,
      ),
    });
  });

  it('passes a named service deployment by break-glass', async () => {
    const decide = createEcsHookDecider({
      configPath: 'ssm:/greenlight/configs/{cluster}/{service}/prod',
      maxWaitSeconds: 1,
    });
    const invocation = event('checkout');
    const id = invocation.resourceArn.split('/').pop()!;
    await breakGlass(`ecs/shop/checkout/${id}`, {
      hooks: ['POST_TEST_TRAFFIC_SHIFT'],
      expiresAt: inOneHour(),
    });
    const decision = await decide(invocation, { getRemainingTimeInMillis: () => 30_000 });
    expect(decision).toMatchObject({
      response: { hookStatus: 'SUCCEEDED' },
      skipped: { by: 'break-glass', parameter: `/greenlight-break-glass/ecs/shop/checkout/${id}` },
    });
    expect(decision.verdict).toBeUndefined();
    expect(output.lines().some((l) => l.VerdictSkipped === 1)).toBe(true);
  });
});
