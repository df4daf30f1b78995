import { defaultWatchClients } from '../../bin/commands/watch';
import { watchDeployment } from '../../watch/watch-deployment';
import type { AwsJsonServer } from '../support/aws-json-server';
import { ecsServer, fixture, useEndpoints, virtualClock } from './support/watch-world';

// 360 polls through a real SDK client and a local server: seconds on an idle machine, more under load.
jest.setTimeout(120_000);

const POLLS_IN_AN_HOUR = 360;
/** Two hours of events: more ids than the watch remembers. */
const EVENTS = 1_200;

let ecs: AwsJsonServer;
let restore: () => void;

beforeAll(async () => {
  ecs = ecsServer();
  await ecs.start();
  restore = useEndpoints({ AWS_ENDPOINT_URL_ECS: ecs.url });
});
afterAll(async () => {
  restore();
  await ecs.stop();
});

describe('watchDeployment over an hour', () => {
  it('keeps a bounded record while a slow deployment stops a task and logs an event every poll', async () => {
    const clock = virtualClock();
    let poll = 0;
    const task = (n: number) =>
      `arn:aws:ecs:eu-west-1:123456789012:task/web-cluster/${String(n).padStart(32, '0')}`;
    ecs.on('DescribeServices', () => {
      poll++;
      const doc = fixture('ecs-describe-services-rolling');
      const service = doc.services[0];
      service.loadBalancers = [];
      delete service.deploymentConfiguration.alarms;
      const [next] = service.deployments;
      Object.assign(next, {
        desiredCount: POLLS_IN_AN_HOUR,
        runningCount: Math.min(poll, POLLS_IN_AN_HOUR),
        pendingCount: 1,
      });
      if (poll >= POLLS_IN_AN_HOUR) Object.assign(next, { rolloutState: 'COMPLETED', pendingCount: 0 });
      // Several events a poll, so more ids pass than the watch remembers.
      const newest = Math.round((poll * EVENTS) / POLLS_IN_AN_HOUR);
      service.events = Array.from({ length: Math.min(newest, 100) }, (_, i) => ({
        id: `event-${newest - i}`,
        createdAt: 1767268800 + (newest - i),
        message: `(service web) has started 1 tasks: (task ${newest - i}).`,
      }));
      return { body: doc };
    });
    ecs.on('ListTasks', () => ({
      body: { taskArns: Array.from({ length: Math.min(poll, 100) }, (_, i) => task(poll - i)) },
    }));
    ecs.on('DescribeTasks', (call) => {
      const template = fixture('ecs-describe-tasks-stopped').tasks[0];
      return {
        body: {
          tasks: (call.body.tasks as string[]).map((taskArn) => ({ ...template, taskArn })),
          failures: [],
        },
      };
    });
    const shown = new Map<string, number>();

    const outcome = await watchDeployment({
      target: { cluster: 'web-cluster', service: 'web' },
      clients: defaultWatchClients(),
      clock,
      intervalMs: 10_000,
      stallAfterMs: 600_000,
      onEvent: (e) => {
        if (e.type === 'service-event') shown.set(e.message, (shown.get(e.message) ?? 0) + 1);
      },
    });

    expect(outcome.ending).toBe('completed');
    expect(clock.sleeps).toBeGreaterThanOrEqual(POLLS_IN_AN_HOUR - 1);
    expect(outcome.evidence.stoppedTasks.length).toBeLessThanOrEqual(20);
    expect(outcome.evidence.events.length).toBeLessThanOrEqual(20);
    // Each stopped task is described once, however often ListTasks names it.
    const described = ecs.callsOf('DescribeTasks').flatMap((c) => c.body.tasks as string[]);
    expect(new Set(described).size).toBe(described.length);
    expect(ecs.callsOf('DescribeServices').length).toBeLessThanOrEqual(clock.sleeps + 1);
    // Every event is shown exactly once, also after the oldest ids were forgotten; the 3 from
    // before the watch started are history, not shown.
    expect(shown.size).toBe(EVENTS - 3);
    expect([...shown.values()].every((n) => n === 1)).toBe(true);
  });
});
