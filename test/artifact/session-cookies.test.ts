import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import cookieSession from 'cookie-session';
import { AwsJsonServer } from '../support/aws-json-server';
import { MotoServer } from '../support/moto-server';
import { ecsHookEvent, serviceDeploymentArn } from '../support/ecs-hook-events';
import { invoke, packageStack, type PackagedStack } from './artifact-kit';

// A cookie-only session check as a user deploys it: no store, the keys from the function's
// environment, blue and green real apps behind the npm cookie-session middleware. The ECS hook is
// unzipped outside the project and invoked on the runtime's Node line.
jest.setTimeout(300_000);

const run = randomBytes(3).toString('hex');
const KEY = `cookie-key-${run}-a1`;
const OTHER_KEY = `cookie-key-${run}-b2`;
const moto = new MotoServer();
/** ECS DescribeServiceDeployments, which moto does not implement. */
const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
/** The keys each app signs with; a test changes green's. */
const appKeys = { blue: [KEY], green: [KEY] };
const servers: Server[] = [];
let stack: PackagedStack;

async function app(version: 'blue' | 'green'): Promise<string> {
  const server = createServer((req, res) => {
    cookieSession({ name: 'session', keys: appKeys[version] })(req as never, res as never, () => {
      (req as unknown as { session: Record<string, unknown> }).session.user = { id: '42' };
      res.end(version);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const [blue, green] = await Promise.all([app('blue'), app('green')]);
  await Promise.all([moto.start(), ecs.start()]);
  ecs.on('DescribeServiceDeployments', () => ({
    body: {
      serviceDeployments: [{ serviceDeploymentArn: serviceDeploymentArn(run), status: 'IN_PROGRESS' }],
      failures: [],
    },
  }));
  stack = await packageStack(`targets:
  test: ${green}
  prod: ${blue}
checks:
  cookies:
    type: session
    cookies:
      framework: cookie-session
      keys:
        blue: ["\${env:ART_BLUE_COOKIE_KEY}"]
        green: ["\${env:ART_GREEN_COOKIE_KEY}"]
hooks:
  POST_TEST_TRAFFIC_SHIFT: [cookies]
`);
});

afterAll(async () => {
  await Promise.all([
    ...servers.map((s) => new Promise((resolve) => s.close(resolve))),
    moto.stop(),
    ecs.stop(),
  ]);
  stack?.remove();
});

async function decide(executionId: string, keys: { blue: string; green: string }) {
  const fn = stack.functions.get('ecsLifecycleHook')!;
  const result = await invoke(
    fn,
    [ecsHookEvent({ stage: 'POST_TEST_TRAFFIC_SHIFT', executionId, deploymentId: run })],
    {
      timeoutS: 60,
      env: {
        AWS_ENDPOINT_URL: moto.url,
        AWS_ENDPOINT_URL_ECS: ecs.url,
        ART_BLUE_COOKIE_KEY: keys.blue,
        ART_GREEN_COOKIE_KEY: keys.green,
      },
    },
  );
  expect(result.records).toHaveLength(1);
  return result;
}

describe('a cookie-only session check in the packaged ECS hook', () => {
  it('answers SUCCEEDED when blue and green sign and verify with the same key', async () => {
    const result = await decide(`ecs-${run}-same`, { blue: KEY, green: KEY });
    expect(result.records[0]).toEqual({ result: { hookStatus: 'SUCCEEDED' } });
  });

  it('answers FAILED when green runs with another key, saying who is logged out, never the keys', async () => {
    appKeys.green = [OTHER_KEY];
    try {
      const result = await decide(`ecs-${run}-changed`, { blue: KEY, green: OTHER_KEY });
      expect(result.records[0]).toEqual({ result: { hookStatus: 'FAILED' } });
      const logs = JSON.stringify(result.logs);
      expect(logs).toMatch(/users logged in on blue are logged out when traffic moves to green/);
      expect(logs).not.toContain(KEY);
      expect(logs).not.toContain(OTHER_KEY);
    } finally {
      appKeys.green = [KEY];
    }
  });
});
