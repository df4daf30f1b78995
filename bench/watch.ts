import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AwsJsonServer } from '../test/support/aws-json-server';
import { elbv2Server } from '../test/support/aws-query-server';
import { ecsServer, virtualClock, type Doc } from '../test/watch/support/watch-world';
import type { WatchClients } from '../watch/watch-target';
import { watchDeployment } from '../watch/watch-deployment';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type Bench, type BenchFigure } from './harness';

/** A recorded API answer from test/fixtures/watch (read from the repository: the build copies no JSON). */
function fixture(name: string): Doc {
  return JSON.parse(
    readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'watch', `${name}.json`), 'utf8'),
  ) as Doc;
}

const INTERVAL_MS = 10_000;
const HOUR_MS = 3_600_000;
const MAX_GROWTH_MIB = 50;
const MIB = 1024 * 1024;
/** Every poll stops this many tasks and logs this many service events and hook lines. */
const PER_POLL = 5;

const gc = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * A local ECS, ELBv2 and CloudWatch Logs for one ECS blue/green deployment that moves a little
 * every poll and never ends early: new stopped tasks, service events, target health and hook log
 * lines each interval, so every bounded record fills up and turns over.
 */
async function world() {
  const ecs = ecsServer();
  const elb = elbv2Server();
  const logs = new AwsJsonServer({
    targetPrefix: 'Logs_20140328',
    contentType: 'application/x-amz-json-1.1',
  });
  const urls = { ecs: await ecs.start(), elb: await elb.start(), logs: await logs.start() };
  let poll = 0;
  let polls = Infinity;
  const started = Date.parse('2026-01-01T12:00:00Z');
  const task = (n: number) =>
    `arn:aws:ecs:eu-west-1:123456789012:task/web-cluster/${String(n).padStart(32, '0')}`;
  ecs.on('DescribeServices', () => {
    poll++;
    const doc = fixture('ecs-describe-services-rolling');
    const s = doc.services[0];
    s.deploymentConfiguration.strategy = 'BLUE_GREEN';
    s.loadBalancers[0].advancedConfiguration = {
      alternateTargetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-2/1',
      productionListenerRule:
        'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/1/2/3',
      roleArn: 'arn:aws:iam::123456789012:role/ecs',
    };
    const newest = poll * PER_POLL;
    s.events = Array.from({ length: Math.min(newest, 100) }, (_, i) => ({
      id: `event-${newest - i}`,
      createdAt: started / 1000 + newest - i,
      message: `(service web) has started 1 tasks: (task ${newest - i}).`,
    }));
    return { body: doc };
  });
  ecs.on('ListServiceDeployments', () => ({ body: fixture('ecs-list-service-deployments') }));
  ecs.on('DescribeServiceDeployments', () => {
    const doc = fixture('ecs-describe-service-deployments');
    const done = poll >= polls;
    Object.assign(doc.serviceDeployments[0], {
      status: done ? 'SUCCESSFUL' : 'IN_PROGRESS',
      lifecycleStage: done ? 'CLEAN_UP' : 'BAKE_TIME',
    });
    Object.assign(doc.serviceDeployments[0].targetServiceRevision, { runningTaskCount: poll % 3 });
    return { body: doc };
  });
  ecs.on('ListTasks', () => ({
    body: {
      taskArns: Array.from({ length: Math.min(poll * PER_POLL, 100) }, (_, i) => task(poll * PER_POLL - i)),
    },
  }));
  const stopped = fixture('ecs-describe-tasks-stopped').tasks[0];
  ecs.on('DescribeTasks', (call) => ({
    body: { tasks: (call.body.tasks as string[]).map((taskArn) => ({ ...stopped, taskArn })), failures: [] },
  }));
  elb.on('DescribeTargetHealth', (call) => ({
    result: {
      TargetHealthDescriptions: [1, 2].map((n) => ({
        Target: { Id: `10.0.${poll % 250}.${n}`, Port: 8080 },
        TargetHealth: { State: poll % 2 ? 'healthy' : 'initial', Reason: 'Elb.RegistrationInProgress' },
      })),
    },
    ...(call.params.TargetGroupArn ? {} : { error: 'ValidationError' }),
  }));
  elb.on('DescribeRules', () => ({
    result: {
      Rules: [
        {
          RuleArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/web/1/2/3',
          Priority: '1',
          Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [] } }],
        },
      ],
    },
  }));
  logs.on('FilterLogEvents', () => ({
    body: {
      events: Array.from({ length: PER_POLL }, (_, i) => ({
        eventId: `log-${poll}-${i}`,
        timestamp: started + poll * INTERVAL_MS + i,
        message: JSON.stringify({
          message: 'hook status',
          resourceArn:
            'arn:aws:ecs:eu-west-1:123456789012:service-deployment/web-cluster/web/r3k1TQhG5Jg9OCw2aFgGp',
          lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT',
          hookStatus: 'IN_PROGRESS',
          reason: `attempt ${poll} inconclusive, trying again in 30 s: ${'x'.repeat(200)}`,
        }),
      })),
    },
  }));
  const config = {
    region: 'eu-west-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    maxAttempts: 1,
  };
  const clients: WatchClients = {
    ecs: new ECSClient({ ...config, endpoint: urls.ecs }),
    elbv2: new ElasticLoadBalancingV2Client({ ...config, endpoint: urls.elb }),
    cloudwatch: new CloudWatchClient({ ...config, endpoint: urls.ecs }),
    codedeploy: new CodeDeployClient({ ...config, endpoint: urls.ecs }),
    logs: new CloudWatchLogsClient({ ...config, endpoint: urls.logs }),
  };
  return {
    clients,
    /** Follows the deployment for `durationMs` of simulated time; returns what it cost. */
    async follow(durationMs: number) {
      poll = 0;
      polls = durationMs / INTERVAL_MS;
      for (const s of [ecs, logs]) s.calls.length = 0;
      elb.calls.length = 0;
      let events = 0;
      let peakRss = process.memoryUsage.rss();
      const clock = virtualClock('2026-01-01T12:00:00Z', () => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
      });
      const outcome = await watchDeployment({
        target: { cluster: 'web-cluster', service: 'web', hookLogGroups: ['greenlight-ecs-hook'] },
        clients,
        clock,
        intervalMs: INTERVAL_MS,
        stallAfterMs: HOUR_MS,
        onEvent: () => void events++,
      });
      if (outcome.ending !== 'completed') throw new Error(`watch bench: the watch ended ${outcome.ending}`);
      const calls = new Map<string, number>();
      for (const c of [...ecs.calls, ...logs.calls])
        calls.set(c.operation, (calls.get(c.operation) ?? 0) + 1);
      for (const c of elb.calls) calls.set(c.action, (calls.get(c.action) ?? 0) + 1);
      return { events, peakRss, calls, intervals: clock.sleeps + 1 };
    },
    async close() {
      await Promise.all([ecs.stop(), elb.stop(), logs.stop()]);
    },
  };
}

function memory() {
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

/**
 * `greenlight watch` following one ECS blue/green deployment for an hour of simulated time (360
 * polls of ECS, ELBv2 and CloudWatch Logs, each full of new tasks, events and hook lines): heap and
 * RSS growth against following the same deployment for one minute in the same process, and the
 * most calls any API received per interval.
 */
export const watchBench: Bench = {
  id: 'watch',
  title: 'greenlight watch: an hour of polling an ECS blue/green deployment',
  async run() {
    const w = await world();
    try {
      const base0 = memory();
      await w.follow(60_000);
      const base1 = memory();
      const before = memory();
      const hour = await w.follow(HOUR_MS);
      const after = memory();
      const heapGrowth = (after.heapUsed - before.heapUsed) / MIB;
      const rssGrowth = (Math.max(after.rss, hour.peakRss) - before.rss) / MIB;
      const perInterval = Math.max(...[...hour.calls.values()].map((n) => n / hour.intervals));
      const figures: BenchFigure[] = [
        {
          name: 'heap growth over an hour',
          value: heapGrowth,
          unit: 'MiB',
          baseline: { name: 'one minute', value: (base1.heapUsed - base0.heapUsed) / MIB, unit: 'MiB' },
          target: `≤ ${MAX_GROWTH_MIB} MiB`,
          ok: heapGrowth <= MAX_GROWTH_MIB,
          note: `${hour.events} timeline events`,
        },
        {
          name: 'RSS growth over an hour (peak)',
          value: rssGrowth,
          unit: 'MiB',
          baseline: { name: 'one minute', value: (base1.rss - base0.rss) / MIB, unit: 'MiB' },
          target: `≤ ${MAX_GROWTH_MIB} MiB`,
          ok: rssGrowth <= MAX_GROWTH_MIB,
        },
        {
          name: 'most calls of one API per interval',
          value: perInterval,
          unit: 'calls',
          target: '≤ 1',
          ok: perInterval <= 1,
          note: [...hour.calls].map(([api, n]) => `${api} ${n}`).join(', '),
        },
      ];
      return figures;
    } finally {
      await w.close();
    }
  },
};
