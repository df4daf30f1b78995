// Bake windows in the ECS built-in hook: the state rides in hookDetails from one IN_PROGRESS
// answer to the next re-invocation, keyed by the wait (stage, service deployment, target
// revision, traffic step), never by executionId. A fake clock stands for ECS's callBackDelay.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEcsHookDecider } from '../../hooks/ecs-hook-handler';
import type { EcsHookDecision } from '../../hooks/ecs-hook-types';
import { AwsJsonServer } from '../support/aws-json-server';
import { captureOutput } from '../support/capture-output';
import { ecsHookEvent } from '../support/ecs-hook-events';
import { FakeClock } from '../support/fake-clock';
import { startHttpServer, type TestServer } from '../support/http-servers';

const ecs = new AwsJsonServer({
  targetPrefix: 'AmazonEC2ContainerServiceV20141113',
  contentType: 'application/x-amz-json-1.1',
});
const dir = mkdtempSync(join(tmpdir(), 'greenlight-ecs-bake-'));
let app: TestServer;
let clock: FakeClock;
let burstFrom = Infinity;
let output: ReturnType<typeof captureOutput>;
let n = 0;

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_ECS = await ecs.start();
  app = await startHttpServer((_req, res) => {
    res.writeHead(clock.now() >= burstFrom ? 500 : 200);
    res.end();
  });
});
afterAll(async () => {
  await Promise.all([ecs.stop(), app.close()]);
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  clock = new FakeClock();
  burstFrom = Infinity;
  ecs.reset();
  ecs.on('DescribeServiceDeployments', (call) => ({
    body: {
      serviceDeployments: (call.body.serviceDeploymentArns as string[]).map((arn) => ({
        serviceDeploymentArn: arn,
        status: 'IN_PROGRESS',
      })),
      failures: [],
    },
  }));
  output = captureOutput();
});
afterEach(() => output.restore());

function decider(window: string) {
  const configPath = join(dir, `greenlight-${++n}.yml`);
  writeFileSync(
    configPath,
    [
      `targets: { test: "${app.url}", prod: "${app.url}" }`,
      'checks:',
      '  bake:',
      '    type: http',
      '    target: prod',
      '    requests: [{ path: /health, expect: { status: 200 } }]',
      `    window: ${window}`,
      'hooks:',
      '  PRODUCTION_TRAFFIC_SHIFT: [bake]',
    ].join('\n'),
  );
  return createEcsHookDecider({ configPath, gate: { clock } });
}

/** Invokes as ECS does: again after each IN_PROGRESS, with its hookDetails, a new executionId each time. */
async function untilDecided(
  decide: ReturnType<typeof decider>,
  deploymentId: string,
  greenPercent: number,
  carried: Record<string, unknown> = {},
): Promise<{ last: EcsHookDecision; answers: EcsHookDecision[] }> {
  const answers: EcsHookDecision[] = [];
  let hookDetails = carried;
  for (;;) {
    const event = {
      ...ecsHookEvent({
        stage: 'PRODUCTION_TRAFFIC_SHIFT',
        executionId: `exec-${++n}`,
        deploymentId,
        greenPercent,
      }),
      hookDetails,
    };
    const answer = await decide(event, clock.context(60_000, `req-${n}`));
    answers.push(answer);
    if (answer.response.hookStatus !== 'IN_PROGRESS') return { last: answer, answers };
    hookDetails = answer.response.hookDetails!;
    clock.advance(answer.response.callBackDelay! * 1000);
  }
}

describe('an ECS hook bakes across IN_PROGRESS re-invocations', () => {
  it('answers SUCCEEDED after a 30-minute window, though every invocation has a new executionId', async () => {
    const { last, answers } = await untilDecided(
      decider('{ durationMinutes: 30, intervalSeconds: 60 }'),
      'bake1',
      100,
    );

    expect(last.response).toEqual({ hookStatus: 'SUCCEEDED' });
    expect(answers).toHaveLength(31);
    expect(answers.slice(0, -1).every((a) => a.response.callBackDelay === 60)).toBe(true);
    expect(last.verdict!.checks[0]!.message).toBe('31 of 31 measurements over 30 min passed');
    expect(answers[4]!.reason).toBe("bake in progress: 'bake' 5 of 31 measurements; next look in 60 s");
  });

  it('answers FAILED at the first measurement past failureLimit, with its evidence', async () => {
    burstFrom = clock.now() + 20 * 60_000;
    const { last, answers } = await untilDecided(
      decider('{ durationMinutes: 30, intervalSeconds: 60, failureLimit: 2 }'),
      'bake2',
      100,
    );

    expect(last.response).toEqual({ hookStatus: 'FAILED' });
    expect(answers).toHaveLength(23);
    expect(last.reason).toMatch(
      /^'bake' failed: measurement 23 of 31 failed at 2026-01-01T12:22:00\.000Z: .*status: expected 200, got 500.*\(3 not passed, failureLimit 2\)$/,
    );
  });

  it('gates each traffic step of a linear deployment with a window of its own', async () => {
    const decide = decider('{ durationMinutes: 5, intervalSeconds: 60 }');
    const step1 = await untilDecided(decide, 'linear', 10);
    // ECS passes the previous answer's hookDetails on; a new traffic step does not inherit the wait.
    const step2 = await untilDecided(decide, 'linear', 20, step1.answers.at(-2)!.response.hookDetails!);

    expect(step1.last.response.hookStatus).toBe('SUCCEEDED');
    expect(step2.last.response.hookStatus).toBe('SUCCEEDED');
    expect(step2.answers).toHaveLength(6);
    expect(step2.last.verdict!.checks[0]!.message).toBe('6 of 6 measurements over 5 min passed');
    const state = step2.answers[0]!.response.hookDetails!.greenlight as { trafficStep: string; gate: object };
    expect(state.trafficStep).toContain('=20');
  });
});
