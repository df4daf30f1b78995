import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CodeDeployClient, CreateDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { blueGreenDeployment, secret, type BlueGreenWorld } from '../support/aws-world';
import { CodeDeployOverMoto } from '../support/codedeploy-over-moto';
import { startHttpServer, type TestServer } from '../support/http-servers';
import { MotoServer } from '../support/moto-server';
import {
  invoke,
  packageStack,
  unpack,
  verdicts,
  type InvokeResult,
  type PackagedStack,
} from './artifact-kit';

// The platform stack as a platform team deploys it: one `serverless package --param="mode=platform"`,
// one function unzipped outside the project and run on the runtime's Node line, serving several
// services whose configs live in S3 (moto), each found from its deployment's application and group.
jest.setTimeout(300_000);

const run = randomBytes(3).toString('hex');
const BUCKET = `platform-${run}`;
const moto = new MotoServer();
const codedeploy = new CodeDeployOverMoto(() => moto.url);
let stack: PackagedStack;
let green: TestServer;
let s3: S3Client;
let ssm: SSMClient;
const worlds: Record<'web' | 'billing' | 'rogue' | 'prober', BlueGreenWorld> = {} as never;
let taskRoot: string;

function smoke(name: string, path: string, headers = '{}'): string {
  return `targets: { test: "${green.url}" }
checks:
  ${name}:
    type: http
    requests: [{ path: ${path}, headers: ${headers}, expect: { status: 200 } }]
hooks:
  AfterAllowTestTraffic: [${name}]
`;
}

async function putConfig(world: BlueGreenWorld, text: string) {
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: `greenlight/${world.application}/${world.deploymentGroup}.yml`,
      Body: text,
    }),
  );
}

beforeAll(async () => {
  green = await startHttpServer((req, res) => {
    res.writeHead(req.url === '/web/health' || req.url === '/web/v2' ? 200 : 503).end();
  });
  await Promise.all([moto.start(), codedeploy.start()]);
  s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true });
  ssm = new SSMClient({ endpoint: moto.url });
  await s3.send(
    new CreateBucketCommand({
      Bucket: BUCKET,
      CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
    }),
  );
  for (const name of ['web', 'billing', 'rogue', 'prober'] as const)
    worlds[name] = await blueGreenDeployment(moto.url, `${name}${run}`);
  await secret(moto.url, `greenlight/${worlds.billing.application}/db`, { password: `billing-${run}` });
  await putConfig(worlds.web, smoke('web-smoke', '/web/health'));
  await putConfig(worlds.billing, smoke('billing-smoke', '/billing/health'));
  // A service whose config reaches for another service's secret, and one that probes an internal host.
  await putConfig(
    worlds.rogue,
    smoke(
      'steal',
      '/',
      `{ x-db: "\${secretsmanager:greenlight/${worlds.billing.application}/db#password}" }`,
    ),
  );
  await putConfig(worlds.prober, smoke('probe', '/').replace(green.url, 'http://169.254.169.254'));

  stack = await packageStack('{}\n', [
    'mode=platform',
    `configLocation=s3://${BUCKET}/greenlight/{application}/{deploymentGroup}.yml`,
    `deploymentGroups=${Object.values(worlds)
      .map((w) => `${w.application}/${w.deploymentGroup}`)
      .join(',')}`,
    'allowedHosts=127.0.0.1',
  ]);
  taskRoot = unpack(stack.functions.get('afterAllowTestTraffic')!);
});

afterAll(async () => {
  await Promise.all([green?.close(), moto.stop(), codedeploy.stop()]);
  if (taskRoot) rmSync(taskRoot, { recursive: true, force: true });
  stack?.remove();
});

let executions = 0;
/** Invokes the one packaged AfterAllowTestTraffic function for these deployments, in one warm process. */
async function hook(deploymentIds: string[]): Promise<InvokeResult & { executionIds: string[] }> {
  const executionIds = deploymentIds.map(() => `exec-${run}-${++executions}`);
  const result = await invoke(
    stack.functions.get('afterAllowTestTraffic')!,
    deploymentIds.map((DeploymentId, i) => ({
      DeploymentId,
      LifecycleEventHookExecutionId: executionIds[i],
    })),
    {
      timeoutS: 60,
      taskRoot,
      env: {
        AWS_ENDPOINT_URL: moto.url,
        AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.server.url,
      },
    },
  );
  return { ...result, executionIds };
}

function checkNames(result: InvokeResult): string[] {
  return result.logs
    .filter((line) => line.message === 'check result')
    .map((line) => (line.check as { name: string }).name);
}

describe('one packaged platform function for many services', () => {
  it('carries every check type and the platform settings, with IAM scoped to the listed groups and the config prefix', () => {
    const fn = stack.functions.get('afterAllowTestTraffic')!;
    expect(fn.environment).toMatchObject({
      GREENLIGHT_CONFIG: `s3://${BUCKET}/greenlight/{application}/{deploymentGroup}.yml`,
      GREENLIGHT_TENANT_PREFIX: 'greenlight/{application}/',
      GREENLIGHT_ALLOWED_HOSTS: '127.0.0.1',
      GREENLIGHT_BREAK_GLASS_PREFIX: '/greenlight-break-glass/',
    });
    const policy = JSON.stringify(stack.template.Resources.IamRoleLambdaExecution!.Properties);
    expect(policy).toContain(`deploymentgroup:${worlds.web.application}/${worlds.web.deploymentGroup}`);
    expect(policy).toContain(`s3:::${BUCKET}/greenlight/*/*.yml`);
    expect(policy).toContain(`secret:greenlight/${worlds.billing.application}/*`);
    expect(policy).toContain('parameter/greenlight-break-glass/*');
    expect(policy).not.toContain('ssm:PutParameter');
    expect(policy).not.toMatch(/deploymentgroup:\*/);
  });

  it('gives each service its own checks and verdict, and picks up a config change without redeploying', async () => {
    const first = await hook([worlds.web.deploymentId, worlds.billing.deploymentId]);
    expect(first.node.major).toBe(22);
    expect(verdicts(first).map((v) => v.status)).toEqual(['Succeeded', 'Failed']);
    expect(checkNames(first)).toEqual(['web-smoke', 'billing-smoke']);
    expect(first.executionIds.map((id) => codedeploy.reportsOf(id))).toEqual([['Succeeded'], ['Failed']]);

    // Web's team publishes a new config; the same unzipped function reads it on its next run.
    await putConfig(worlds.web, smoke('web-smoke-v2', '/web/v2'));
    const second = await hook([worlds.web.deploymentId]);
    expect(checkNames(second)).toEqual(['web-smoke-v2']);
    expect(verdicts(second)[0]!.status).toBe('Succeeded');
  });

  it('refuses a config that references another service’s secret, or a host off the allow-list', async () => {
    const result = await hook([worlds.rogue.deploymentId, worlds.prober.deploymentId]);
    const [rogue, prober] = verdicts(result);
    expect(rogue!.status).toBe('Failed');
    expect(rogue!.reason).toContain(
      `tenant rule "secrets and parameters under the service’s own prefix": secret greenlight/${worlds.billing.application}/db is outside greenlight/${worlds.rogue.application}/`,
    );
    expect(prober!.status).toBe('Failed');
    expect(prober!.reason).toContain('host 169.254.169.254 is not the deployment');
    expect(result.stdout + result.stderr).not.toContain(`billing-${run}`);
    expect(checkNames(result)).toEqual([]);
  });

  it('lets a deployment named by break-glass pass with a skipped verdict, and runs the checks of the next one', async () => {
    const { deploymentId: next } = await new CodeDeployClient({ endpoint: moto.url }).send(
      new CreateDeploymentCommand({
        applicationName: worlds.billing.application,
        deploymentGroupName: worlds.billing.deploymentGroup,
        revision: { revisionType: 'AppSpecContent', appSpecContent: { content: '{}' } },
      }),
    );
    await ssm.send(
      new PutParameterCommand({
        Name: `/greenlight-break-glass/${worlds.billing.deploymentId}`,
        Type: 'String',
        Value: JSON.stringify({
          deployment: worlds.billing.deploymentId,
          hooks: ['*'],
          expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
          reason: 'INC-7 hotfix',
          setBy: 'oncall',
        }),
      }),
    );
    const result = await hook([worlds.billing.deploymentId, next!]);
    const [skipped, checked] = verdicts(result);
    expect(skipped).toMatchObject({ status: 'Succeeded' });
    expect(skipped!.reason).toMatch(
      new RegExp(
        `^skipped by break-glass /greenlight-break-glass/${worlds.billing.deploymentId} \\(set by oncall\\), valid until .*: INC-7 hotfix$`,
      ),
    );
    expect(result.logs).toContainEqual(expect.objectContaining({ VerdictSkipped: 1 }));
    expect(checked).toMatchObject({ status: 'Failed' });
    // Both ran billing's check: the switch is looked up once a verdict would hold the deployment
    // back, and it let the first through; the next deployment's Failed stands.
    expect(checkNames(result)).toEqual(['billing-smoke', 'billing-smoke']);
    expect(result.executionIds.map((id) => codedeploy.reportsOf(id))).toEqual([['Succeeded'], ['Failed']]);
  });
});
