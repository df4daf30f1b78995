import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defineCheckType } from '../../checks/check-type';
import { createEcsHookDecider, createEcsHookHandler } from '../../hooks/ecs-hook-handler';
import { STATE_KEY } from '../../hooks/ecs-hook-state';
import { AwsJsonServer } from '../support/aws-json-server';
import { scriptedCheckType } from '../support/test-check-types';

// A readiness probe as a hook would run it: green that answers 503 is "not ready yet" (inconclusive), 200 is ready.
const readinessCheckType = defineCheckType({
  type: 'readiness',
  summary: 'GET a path on the test target; 200 passes, 503 is not ready yet.',
  options: z.strictObject({ path: z.string() }),
  create: (options, ctx) => ({
    name: ctx.name,
    type: 'readiness',
    async run({ targets, signal }) {
      const url = new URL(options.path, targets.test);
      const res = await fetch(url, { signal });
      await res.arrayBuffer();
      if (res.status === 200) return { outcome: 'passed', message: `GET ${url.href} returned 200` };
      return {
        outcome: 'inconclusive',
        message: `GET ${url.href} returned ${res.status}, expected 200 (not ready yet)`,
      };
    },
  }),
});
const checkTypes = [scriptedCheckType, readinessCheckType];

const SERVICE = 'arn:aws:ecs:eu-west-1:123456789012:service/web-cluster/web';
const BLUE_REV = 'arn:aws:ecs:eu-west-1:123456789012:service-revision/web-cluster/web/1111';
const GREEN_REV = 'arn:aws:ecs:eu-west-1:123456789012:service-revision/web-cluster/web/2222';
const DEPLOYMENT = 'arn:aws:ecs:eu-west-1:123456789012:service-deployment/web-cluster/web/abcdEFGH';

function nestedEvent(stage: string, overrides: Record<string, unknown> = {}) {
  return {
    executionId: 'exec-1',
    lifecycleStage: stage,
    resourceArn: DEPLOYMENT,
    executionDetails: {
      testTrafficWeights: { [GREEN_REV]: 100, [BLUE_REV]: 0 },
      productionTrafficWeights: { [BLUE_REV]: 100, [GREEN_REV]: 0 },
      serviceArn: SERVICE,
      targetServiceRevisionArn: GREEN_REV,
    },
    hookDetails: { owner: 'platform-team' },
    ...overrides,
  };
}

const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
let dir: string;
let app: Server;
let ready = false;
let appUrl = '';
let configs = 0;

function config(body: string): string {
  const path = join(dir, `greenlight-${++configs}.yml`);
  writeFileSync(path, body.replaceAll('APP_URL', appUrl));
  return path;
}

const context = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'req-1' };

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_ECS = await ecs.start();
  dir = mkdtempSync(join(tmpdir(), 'ecs-hook-'));
  app = createServer((_req, res) => {
    res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ready ? 'ok' : 'warming up');
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await ecs.stop();
  await new Promise<void>((resolve) => app.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
  delete process.env.AWS_ENDPOINT_URL_ECS;
});

beforeEach(() => {
  ecs.reset();
  ecs.script('DescribeServiceDeployments', {
    body: { serviceDeployments: [{ serviceDeploymentArn: DEPLOYMENT, status: 'IN_PROGRESS' }], failures: [] },
  });
});

describe('ECS built-in blue/green hook', () => {
  it('answers SUCCEEDED, and nothing but hookStatus, when the stage checks pass', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  smoke: { type: scripted, behaviour: pass }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [smoke]\n',
    );
    const handler = createEcsHookHandler({ checkTypes, configPath });

    const answer = await handler(nestedEvent('POST_TEST_TRAFFIC_SHIFT'), context);

    expect(answer).toEqual({ hookStatus: 'SUCCEEDED' });
  });

  it('answers FAILED with the failing check as the reason when green is bad', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  smoke: { type: scripted, behaviour: fail, message: "GET /health returned 503, expected 200" }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [smoke]\n',
    );
    const decide = createEcsHookDecider({ checkTypes, configPath });

    const decision = await decide(nestedEvent('POST_TEST_TRAFFIC_SHIFT'), context);

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).toBe("'smoke' failed: GET /health returned 503, expected 200");
  });

  it('answers IN_PROGRESS while green is not ready, then SUCCEEDED once it is, carrying state in hookDetails', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  ready: { type: readiness, path: /health }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [ready]\n',
    );
    let clock = 1_000_000;
    const decide = createEcsHookDecider({
      checkTypes,
      configPath,
      callBackDelaySeconds: 15,
      maxWaitSeconds: 300,
      now: () => clock,
    });
    ready = false;

    const first = await decide(nestedEvent('POST_TEST_TRAFFIC_SHIFT'), context);
    expect(first.response.hookStatus).toBe('IN_PROGRESS');
    expect(first.response.callBackDelay).toBe(15);
    expect(first.response.hookDetails).toEqual({
      owner: 'platform-team',
      [STATE_KEY]: expect.objectContaining({
        stage: 'POST_TEST_TRAFFIC_SHIFT',
        executionId: 'exec-1',
        firstAttemptAt: 1_000_000,
        attempts: 1,
        lastOutcome: 'inconclusive',
      }),
    });
    expect(first.reason).toMatch(
      /^attempt 1 inconclusive, trying again in 15 s: 'ready' inconclusive: GET http:\/\/127\.0\.0\.1:\d+\/health returned 503/,
    );

    clock += 15_000;
    const second = await decide(
      nestedEvent('POST_TEST_TRAFFIC_SHIFT', { hookDetails: first.response.hookDetails }),
      context,
    );
    expect(second.response.hookStatus).toBe('IN_PROGRESS');
    expect(
      second.response.hookDetails![STATE_KEY] as { attempts: number; firstAttemptAt: number },
    ).toMatchObject({ attempts: 2, firstAttemptAt: 1_000_000 });

    ready = true;
    clock += 15_000;
    const third = await decide(
      nestedEvent('POST_TEST_TRAFFIC_SHIFT', { hookDetails: second.response.hookDetails }),
      context,
    );
    expect(third.response).toEqual({ hookStatus: 'SUCCEEDED' });
  });

  it('answers FAILED with the last reason once a stage has waited longer than maxWaitSeconds', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  ready: { type: readiness, path: /health }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [ready]\n',
    );
    ready = false;
    const decide = createEcsHookDecider({
      checkTypes,
      configPath,
      callBackDelaySeconds: 30,
      maxWaitSeconds: 60,
      now: () => 2_000_000 + 45_000,
    });
    const earlier = {
      [STATE_KEY]: {
        stage: 'POST_TEST_TRAFFIC_SHIFT',
        deployment: DEPLOYMENT,
        targetServiceRevisionArn: GREEN_REV,
        executionId: 'exec-1',
        firstAttemptAt: 2_000_000,
        attempts: 2,
      },
    };

    const decision = await decide(nestedEvent('POST_TEST_TRAFFIC_SHIFT', { hookDetails: earlier }), context);

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).toMatch(
      /^still inconclusive after 3 attempts over 45 s \(limit 60 s\): 'ready' inconclusive: GET .* returned 503/,
    );
  });

  it('answers FAILED once the stage has waited maxWaitSeconds, though every re-invocation has a new executionId', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  ready: { type: readiness, path: /health }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [ready]\n',
    );
    ready = false;
    let clock = 3_000_000;
    const decide = createEcsHookDecider({
      checkTypes,
      configPath,
      callBackDelaySeconds: 30,
      maxWaitSeconds: 60,
      now: () => clock,
    });

    const answers: string[] = [];
    let hookDetails: Record<string, unknown> = { owner: 'platform-team' };
    for (const executionId of ['exec-a', 'exec-b', 'exec-c']) {
      const decision = await decide(
        nestedEvent('POST_TEST_TRAFFIC_SHIFT', { executionId, hookDetails }),
        context,
      );
      answers.push(decision.response.hookStatus);
      if (decision.response.hookStatus !== 'IN_PROGRESS') {
        expect(decision.reason).toMatch(
          /^still inconclusive after 3 attempts over 60 s \(limit 60 s\): 'ready'/,
        );
        break;
      }
      hookDetails = decision.response.hookDetails!;
      clock += 30_000;
    }

    expect(answers).toEqual(['IN_PROGRESS', 'IN_PROGRESS', 'FAILED']);
  });

  it.each([
    ['another service deployment', { resourceArn: `${DEPLOYMENT}-next` }],
    [
      'another target revision',
      {
        executionDetails: {
          testTrafficWeights: {},
          productionTrafficWeights: {},
          serviceArn: SERVICE,
          targetServiceRevisionArn: `${GREEN_REV}9`,
        },
      },
    ],
  ])('starts counting afresh when hookDetails carry state from %s', async (_what, overrides) => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  ready: { type: readiness, path: /health }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [ready]\n',
    );
    ready = false;
    let clock = 4_000_000;
    const decide = createEcsHookDecider({ checkTypes, configPath, maxWaitSeconds: 600, now: () => clock });
    const first = await decide(nestedEvent('POST_TEST_TRAFFIC_SHIFT'), context);
    clock += 500_000;

    const next = await decide(
      nestedEvent('POST_TEST_TRAFFIC_SHIFT', { ...overrides, hookDetails: first.response.hookDetails }),
      context,
    );

    expect(next.response.hookStatus).toBe('IN_PROGRESS');
    expect(next.response.hookDetails![STATE_KEY]).toMatchObject({ attempts: 1, firstAttemptAt: 4_500_000 });
  });

  it('gives each step of a linear production shift its own wait', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  ready: { type: readiness, path: /health }\nhooks:\n  PRODUCTION_TRAFFIC_SHIFT: [ready]\n',
    );
    ready = false;
    let clock = 6_000_000;
    const decide = createEcsHookDecider({ checkTypes, configPath, maxWaitSeconds: 600, now: () => clock });
    const step = (green: number, hookDetails?: Record<string, unknown>) =>
      nestedEvent('PRODUCTION_TRAFFIC_SHIFT', {
        executionDetails: {
          testTrafficWeights: { [GREEN_REV]: 100, [BLUE_REV]: 0 },
          productionTrafficWeights: { [BLUE_REV]: 100 - green, [GREEN_REV]: green },
          serviceArn: SERVICE,
          targetServiceRevisionArn: GREEN_REV,
        },
        ...(hookDetails ? { hookDetails } : {}),
      });
    const first = await decide(step(10), context);
    clock += 30_000;
    const sameStep = await decide(step(10, first.response.hookDetails), context);
    clock += 30_000;
    const nextStep = await decide(step(20, sameStep.response.hookDetails), context);

    expect(sameStep.response.hookDetails![STATE_KEY]).toMatchObject({
      attempts: 2,
      firstAttemptAt: 6_000_000,
    });
    expect(nextStep.response.hookDetails![STATE_KEY]).toMatchObject({
      attempts: 1,
      firstAttemptAt: 6_060_000,
    });
  });

  it('starts counting afresh when hookDetails carry state from another stage', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  ready: { type: readiness, path: /health }\nhooks:\n  POST_PRODUCTION_TRAFFIC_SHIFT: [ready]\n',
    );
    ready = false;
    const decide = createEcsHookDecider({ checkTypes, configPath, now: () => 5_000_000 });
    const stale = {
      [STATE_KEY]: {
        stage: 'POST_TEST_TRAFFIC_SHIFT',
        executionId: 'exec-1',
        firstAttemptAt: 1,
        attempts: 9,
      },
    };

    const decision = await decide(
      nestedEvent('POST_PRODUCTION_TRAFFIC_SHIFT', { hookDetails: stale }),
      context,
    );

    expect(decision.response.hookStatus).toBe('IN_PROGRESS');
    expect(decision.response.hookDetails![STATE_KEY]).toMatchObject({
      stage: 'POST_PRODUCTION_TRAFFIC_SHIFT',
      attempts: 1,
      firstAttemptAt: 5_000_000,
    });
  });

  it.each([
    ['TEST_TRAFFIC_SHIFT', { [BLUE_REV]: 100, [GREEN_REV]: 0 }, { [BLUE_REV]: 100 }],
    ['PRODUCTION_TRAFFIC_SHIFT', { [BLUE_REV]: 100 }, { [BLUE_REV]: 100, [GREEN_REV]: 0 }],
  ])(
    'does not fail the rollback re-invocation of %s, and runs no checks against it',
    async (stage, testTrafficWeights, productionTrafficWeights) => {
      const configPath = config(
        `targets: { test: "APP_URL" }\nchecks:\n  smoke: { type: scripted, behaviour: fail }\nhooks:\n  ${stage}: [smoke]\n`,
      );
      ecs.script('DescribeServiceDeployments', {
        body: { serviceDeployments: [{ serviceDeploymentArn: DEPLOYMENT, status: 'ROLLBACK_IN_PROGRESS' }] },
      });
      const decide = createEcsHookDecider({ checkTypes, configPath });
      const event = nestedEvent(stage, {
        executionDetails: {
          testTrafficWeights,
          productionTrafficWeights,
          serviceArn: SERVICE,
          targetServiceRevisionArn: GREEN_REV,
        },
      });

      const decision = await decide(event, context);

      expect(decision.response).toEqual({ hookStatus: 'SUCCEEDED' });
      expect(decision.rollback).toBe(`service deployment ${DEPLOYMENT} is ROLLBACK_IN_PROGRESS`);
      expect(decision.verdict).toBeUndefined();
      expect(ecs.callsOf('DescribeServiceDeployments').map((c) => c.body)).toEqual([
        { serviceDeploymentArns: [DEPLOYMENT] },
      ]);
    },
  );

  it('recognises a rollback from the traffic weights when the service deployment cannot be read', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  smoke: { type: scripted, behaviour: fail }\nhooks:\n  TEST_TRAFFIC_SHIFT: [smoke]\n',
    );
    ecs.script('DescribeServiceDeployments', {
      error: 'AccessDeniedException',
      message: 'not authorized to perform ecs:DescribeServiceDeployments',
    });
    const decide = createEcsHookDecider({ checkTypes, configPath });
    const event = nestedEvent('TEST_TRAFFIC_SHIFT', {
      executionDetails: {
        testTrafficWeights: { [BLUE_REV]: 100, [GREEN_REV]: 0 },
        productionTrafficWeights: { [BLUE_REV]: 100 },
        serviceArn: SERVICE,
        targetServiceRevisionArn: GREEN_REV,
      },
    });

    const decision = await decide(event, context);

    expect(decision.response).toEqual({ hookStatus: 'SUCCEEDED' });
    expect(decision.rollback).toBe('testTrafficWeights give the target revision 0% and 1111 100%');
  });

  it('still runs the checks of a traffic-shift stage that moves traffic to green', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  smoke: { type: scripted, behaviour: fail }\nhooks:\n  TEST_TRAFFIC_SHIFT: [smoke]\n',
    );
    const decide = createEcsHookDecider({ checkTypes, configPath });

    const decision = await decide(nestedEvent('TEST_TRAFFIC_SHIFT'), context);

    expect(decision.rollback).toBeUndefined();
    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
  });

  it('accepts the earlier flat payload, taking the stage from the function configuration', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  smoke: { type: scripted, behaviour: pass }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [smoke]\n',
    );
    const decide = createEcsHookDecider({ checkTypes, configPath, stage: 'POST_TEST_TRAFFIC_SHIFT' });
    const flat = {
      serviceArn: SERVICE,
      targetServiceRevisionArn: GREEN_REV,
      testTrafficWeights: { [GREEN_REV]: 100 },
      productionTrafficWeights: { [BLUE_REV]: 100 },
    };

    const decision = await decide(flat, context);

    expect(decision.response).toEqual({ hookStatus: 'SUCCEEDED' });
    expect(decision.verdict?.checks.map((c) => c.name)).toEqual(['smoke']);
  });

  it.each([
    [null, 'expected an ECS lifecycle hook event object, got null'],
    [
      { serviceArn: SERVICE },
      'malformed ECS lifecycle hook event: lifecycleStage is missing and the function has no configured stage (GREENLIGHT_ECS_STAGE)',
    ],
    [
      { lifecycleStage: 'BeforeInstall', resourceArn: DEPLOYMENT },
      'malformed ECS lifecycle hook event: lifecycleStage must be one of RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT, got "BeforeInstall"',
    ],
    [
      {
        lifecycleStage: 'POST_SCALE_UP',
        resourceArn: DEPLOYMENT,
        executionDetails: { testTrafficWeights: { [GREEN_REV]: 'lots' } },
      },
      `malformed ECS lifecycle hook event: testTrafficWeights["${GREEN_REV}"] must be a number, got "lots"`,
    ],
  ])('answers FAILED with the reason for a malformed event %#', async (event, reason) => {
    const decision = await createEcsHookDecider({ checkTypes, configPath: join(dir, 'unused.yml') })(
      event,
      context,
    );

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).toBe(reason);
  });

  it('answers FAILED naming the config error rather than throwing (a throw rolls back with no reason)', async () => {
    const configPath = config(
      'targets: { test: "APP_URL" }\nchecks:\n  smoke: { type: scripted, behaviour: maybe }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [smoke]\n',
    );

    const decision = await createEcsHookDecider({ checkTypes, configPath })(
      nestedEvent('POST_TEST_TRAFFIC_SHIFT'),
      context,
    );

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).toMatch(/^config error: .*checks\.smoke\.behaviour: expected one of "pass"/);
  });

  it('refuses targets: auto, which only a CodeDeploy deployment can resolve', async () => {
    const configPath = config(
      'targets: { test: auto }\nchecks:\n  smoke: { type: scripted, behaviour: pass }\nhooks:\n  POST_TEST_TRAFFIC_SHIFT: [smoke]\n',
    );

    const decision = await createEcsHookDecider({ checkTypes, configPath })(
      nestedEvent('POST_TEST_TRAFFIC_SHIFT'),
      context,
    );

    expect(decision.response).toEqual({ hookStatus: 'FAILED' });
    expect(decision.reason).toMatch(/^targets\.test: "auto" is discovered from a CodeDeploy deployment/);
  });
});
