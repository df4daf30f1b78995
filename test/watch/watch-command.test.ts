import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../bin/command';
import { createWatchCommand, EXIT_STALLED } from '../../bin/commands/watch';
import { timelineJsonSchema } from '../../watch/timeline-json';
import { codeDeployServer, forwardCall, type AwsJsonServer, type AwsReply } from '../support/aws-json-server';
import { alarm, blueGreenDeployment, worldClients } from '../support/aws-world';
import { elbv2Server } from '../support/aws-query-server';
import { freePort } from '../support/http-servers';
import { MotoServer } from '../support/moto-server';
import { cliIO, finalScreen } from '../cli/cli-io';
import { expectGolden } from '../cli/golden';
import {
  ecsServer,
  fixture,
  motoTargetGroup,
  useEndpoints,
  virtualClock,
  type Doc,
} from './support/watch-world';

const moto = new MotoServer();
let ecs: AwsJsonServer;
let restore: () => void;

beforeAll(async () => {
  await moto.start();
  ecs = ecsServer();
  await ecs.start();
});
afterAll(async () => {
  await ecs.stop();
  await moto.stop();
});
beforeEach(() => {
  ecs.reset();
  restore = useEndpoints({
    AWS_ENDPOINT_URL_ECS: ecs.url,
    AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: moto.url,
    AWS_ENDPOINT_URL_CLOUDWATCH: moto.url,
    AWS_ENDPOINT_URL_CODEDEPLOY: moto.url,
  });
});
afterEach(() => restore());

type Deployment = Record<string, unknown> & { runningCount: number; pendingCount: number };

/** DescribeServices for the rolling fixture, changed by `edit` (counts, states, settings). */
function services(edit: (service: Doc, deployments: Deployment[]) => void): AwsReply {
  const doc = fixture('ecs-describe-services-rolling');
  const service = doc.services[0];
  edit(service, service.deployments);
  return { body: doc };
}

/** The rolling fixture without load balancer or alarms: ECS alone. */
function bare(service: Doc) {
  service.loadBalancers = [];
  delete service.deploymentConfiguration.alarms;
}

const WEB = ['--cluster', 'web-cluster', '--service', 'web'];
const ANSI_COLOUR = new RegExp(String.raw`\x1b\[[0-9;]*m`, 'g');

async function run(args: string[], options: { tty?: boolean; clock?: ReturnType<typeof virtualClock> } = {}) {
  const clock = options.clock ?? virtualClock();
  const { io, stdout, stderr } = cliIO(options.tty ? { tty: true, columns: 120 } : {});
  const code = await createWatchCommand({ clock }).run(args, io);
  return { code, stdout: stdout(), stderr: stderr(), clock };
}

describe('greenlight watch: a rolling deployment', () => {
  it('follows a healthy rolling deployment to completion and exits 0', async () => {
    const tg = await motoTargetGroup(moto.url, 'web-rolling', ['10.0.1.17', '10.0.1.18']);
    await alarm(moto.url, 'web-5xx', 'OK');
    const step = (running: number, pending: number, done: boolean) =>
      services((s, [next]) => {
        s.loadBalancers[0].targetGroupArn = tg;
        Object.assign(next!, { runningCount: running, pendingCount: pending });
        if (done) {
          s.deployments = [next];
          Object.assign(next!, {
            rolloutState: 'COMPLETED',
            rolloutStateReason: 'ECS deployment ecs-svc/7385529130393526519 completed.',
          });
        }
      });
    ecs.script('DescribeServices', step(0, 2, false), step(0, 2, false), step(1, 1, false), step(2, 0, true));
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const { code, stdout, clock } = await run(WEB);

    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(
      'watching deployment ecs-svc/7385529130393526519 of service web in cluster web-cluster (rolling)',
    );
    expect(stdout).toContain(
      'deployment ecs-svc/7385529130393526519 PRIMARY, web:8: 1/2 running, 1 pending, IN_PROGRESS',
    );
    expect(stdout).toContain(
      'deployment ecs-svc/7385529130393526519 PRIMARY, web:8: 2/2 running, 0 pending, COMPLETED',
    );
    expect(stdout).toMatch(/target 10\.0\.1\.17:8080 in [0-9a-f]+: healthy/);
    expect(stdout).toContain('alarm web-5xx: OK');
    expect(stdout).toMatch(/outcome\s+deployment completed\n$/);
    expect(stdout).not.toContain('diagnosis');
    // At most one call per API per interval: one DescribeServices at the start, then one per poll.
    expect(ecs.callsOf('DescribeServices').length).toBeLessThanOrEqual(clock.sleeps + 1);
    expect(ecs.callsOf('ListTasks').length).toBeLessThanOrEqual(clock.sleeps + 1);
  });

  it('diagnoses a crash-looping deployment that the circuit breaker rolls back, and exits 1', async () => {
    const stoppedTask = fixture('ecs-describe-tasks-stopped').tasks[0].taskArn;
    ecs.script(
      'DescribeServices',
      services((s) => bare(s)),
      services((s, [next]) => {
        bare(s);
        Object.assign(next!, { pendingCount: 0, failedTasks: 1 });
      }),
      services((s, [next, old]) => {
        bare(s);
        Object.assign(next!, {
          status: 'ACTIVE',
          pendingCount: 0,
          failedTasks: 3,
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
        });
        s.deployments = [
          { ...old, id: 'ecs-svc/5821930475618203947', status: 'PRIMARY', rolloutState: 'IN_PROGRESS' },
          next,
        ];
      }),
    );
    ecs.script('ListTasks', { body: { taskArns: [] } }, { body: { taskArns: [stoppedTask] } });
    ecs.on('DescribeTasks', () => ({ body: fixture('ecs-describe-tasks-stopped') }));

    const { code, stdout } = await run(WEB);

    expect(code).toBe(EXIT_FAILED);
    expect(stdout).toMatch(
      /diagnosis: essential container exited: task 4f1c3b9e2a7d4c0f8e6b5a4d3c2b1a09: essential container web exited with code 1 \(fix: /,
    );
    expect(
      stdout
        .trimEnd()
        .split('\n')
        .filter((l) => l.includes('diagnosis')),
    ).toHaveLength(1);
    expect(ecs.callsOf('DescribeTasks')).toHaveLength(1); // a stopped task is described once
    expectGolden('watch-crash-loop.plain.txt', stdout);
  });

  it('shows live progress on a terminal and leaves only the timeline on screen', async () => {
    ecs.script(
      'DescribeServices',
      services((s) => bare(s)),
      services((s, [next]) => {
        bare(s);
        s.deployments = [next];
        Object.assign(next!, { runningCount: 2, pendingCount: 0, rolloutState: 'COMPLETED' });
      }),
    );
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));
    const plain = await run(WEB);
    ecs.reset();
    ecs.script(
      'DescribeServices',
      services((s) => bare(s)),
      services((s, [next]) => {
        bare(s);
        s.deployments = [next];
        Object.assign(next!, { runningCount: 2, pendingCount: 0, rolloutState: 'COMPLETED' });
      }),
    );
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const { code, stdout } = await run(WEB, { tty: true });

    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain('\x1b[2K'); // the status line was redrawn in place
    expect(stdout).toMatch(
      /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] deployment ecs-svc\/7385529130393526519 PRIMARY, web:8: 0\/2 running/,
    );
    const screen = finalScreen(stdout).replace(ANSI_COLOUR, '');
    expect(screen).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
    expect(screen.trimEnd()).toBe(plain.stdout.trimEnd());
  });

  it('ends a deployment that makes no progress as stalled, names what blocks it, and exits 3', async () => {
    const stuck = (withEvent: boolean) =>
      services((s, [next]) => {
        bare(s);
        Object.assign(s.deploymentConfiguration, { minimumHealthyPercent: 100, maximumPercent: 100 });
        Object.assign(next!, { runningCount: 0, pendingCount: 0 });
        if (withEvent) {
          s.events.unshift({
            id: '5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9',
            createdAt: 1767268830,
            message:
              '(service web) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster.',
          });
        }
      });
    ecs.script('DescribeServices', stuck(false), stuck(false), stuck(true));
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const { code, stdout, clock } = await run([...WEB, '--interval', '10s', '--stall-after', '2m']);

    expect(code).toBe(EXIT_STALLED);
    expect(stdout).toContain('service-event   (service web) was unable to place a task');
    expect(stdout).toMatch(/outcome\s+deployment stalled: no progress for 120 s/);
    expect(stdout).toContain(
      'diagnosis: minimum healthy percent blocks the old tasks from draining: minimumHealthyPercent 100, maximumPercent 100: the old tasks keep 2 of 2 running, the new revision has 0 of 2',
    );
    expect(clock.sleeps).toBe(12);
  });

  it('names a health check path that answers 404 when the new targets never turn healthy', async () => {
    const elb = elbv2Server();
    await elb.start();
    try {
      restore();
      restore = useEndpoints({
        AWS_ENDPOINT_URL_ECS: ecs.url,
        AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: elb.url,
      });
      ecs.on('DescribeServices', () =>
        services((s, [next]) => {
          delete s.deploymentConfiguration.alarms;
          Object.assign(next!, { runningCount: 2, pendingCount: 0 });
        }),
      );
      ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));
      elb.on('DescribeTargetHealth', (call) => ({
        result: {
          TargetHealthDescriptions: ['10.0.1.17', '10.0.1.18'].map((Id) => ({
            Target: { Id, Port: 8080, AvailabilityZone: 'eu-west-1a' },
            HealthCheckPort: '8080',
            TargetHealth: {
              State: 'unhealthy',
              Reason: 'Target.ResponseCodeMismatch',
              Description: 'Health checks failed with these codes: [404]',
            },
          })),
        },
        ...(call.params.TargetGroupArn ? {} : { error: 'ValidationError' }),
      }));

      const { code, stdout } = await run([...WEB, '--stall-after', '1m']);

      expect(code).toBe(EXIT_STALLED);
      expect(stdout).toContain(
        'target-health   target 10.0.1.17:8080 in 6d0ecf831eec9f09: unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [404])',
      );
      expect(stdout).toContain(
        'diagnosis: health check path answers an unexpected status: target 10.0.1.17:8080 in 6d0ecf831eec9f09 unhealthy: Target.ResponseCodeMismatch (Health checks failed with these codes: [404]) (2 targets alike)',
      );
      expect(
        elb
          .callsOf('DescribeTargetHealth')
          .every(
            (c) =>
              c.params.TargetGroupArn ===
              fixture('ecs-describe-services-rolling').services[0].loadBalancers[0].targetGroupArn,
          ),
      ).toBe(true);
    } finally {
      await elb.stop();
    }
  });
});

describe('greenlight watch: ECS blue/green', () => {
  it('follows the service deployment through its stages to SUCCESSFUL and exits 0', async () => {
    ecs.on('DescribeServices', () =>
      services((s) => {
        bare(s);
        s.deploymentConfiguration.strategy = 'BLUE_GREEN';
      }),
    );
    ecs.on('ListServiceDeployments', () => ({ body: fixture('ecs-list-service-deployments') }));
    const stage = (status: string, lifecycleStage: string, running: number) => {
      const doc = fixture('ecs-describe-service-deployments');
      Object.assign(doc.serviceDeployments[0], { status, lifecycleStage });
      Object.assign(doc.serviceDeployments[0].targetServiceRevision, {
        runningTaskCount: running,
        pendingTaskCount: 2 - running,
      });
      return { body: doc };
    };
    ecs.script(
      'DescribeServiceDeployments',
      stage('IN_PROGRESS', 'SCALE_UP', 0),
      stage('IN_PROGRESS', 'TEST_TRAFFIC_SHIFT', 2),
      stage('IN_PROGRESS', 'PRODUCTION_TRAFFIC_SHIFT', 2),
      stage('SUCCESSFUL', 'CLEAN_UP', 2),
    );
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const { code, stdout } = await run(WEB);

    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(
      'watching service deployment r3k1TQhG5Jg9OCw2aFgGp of service web in cluster web-cluster (ecs-blue-green)',
    );
    expect(stdout).toContain(
      'service deployment r3k1TQhG5Jg9OCw2aFgGp: IN_PROGRESS at TEST_TRAFFIC_SHIFT, 2/2 running, 0 pending',
    );
    expect(stdout).toMatch(/outcome\s+deployment completed/);
  });
  it('diagnoses an OOM kill when ECS rolls a blue/green deployment back, and exits 1', async () => {
    ecs.on('DescribeServices', () =>
      services((s) => {
        bare(s);
        s.deploymentConfiguration.strategy = 'BLUE_GREEN';
      }),
    );
    ecs.on('ListServiceDeployments', () => ({ body: fixture('ecs-list-service-deployments') }));
    const rolledBack = fixture('ecs-describe-service-deployments');
    Object.assign(rolledBack.serviceDeployments[0], {
      status: 'ROLLBACK_SUCCESSFUL',
      lifecycleStage: 'CLEAN_UP',
      deploymentCircuitBreaker: { status: 'TRIGGERED', failureCount: 3, threshold: 3 },
      rollback: {
        reason: 'Service deployment rolled back because the circuit breaker threshold was exceeded.',
        startedAt: 1767268900.1,
        serviceRevisionArn:
          'arn:aws:ecs:eu-west-1:123456789012:service-revision/web-cluster/web/4980306466373577095',
      },
    });
    ecs.script(
      'DescribeServiceDeployments',
      { body: fixture('ecs-describe-service-deployments') },
      { body: rolledBack },
    );
    const stopped = fixture('ecs-describe-tasks-stopped');
    Object.assign(stopped.tasks[0].containers[0], {
      exitCode: 137,
      reason: 'OutOfMemoryError: Container killed due to memory usage',
    });
    ecs.script('ListTasks', { body: { taskArns: [] } }, { body: { taskArns: [stopped.tasks[0].taskArn] } });
    ecs.on('DescribeTasks', () => ({ body: stopped }));

    const { code, stdout } = await run(WEB);

    expect(code).toBe(EXIT_FAILED);
    expect(stdout).toContain('service deployment r3k1TQhG5Jg9OCw2aFgGp: ROLLBACK_SUCCESSFUL at CLEAN_UP');
    expect(stdout).toMatch(/outcome\s+deployment rolled back/);
    expect(stdout).toContain(
      'diagnosis: container killed for memory (OOM): task 4f1c3b9e2a7d4c0f8e6b5a4d3c2b1a09: container web exited with code 137 (OutOfMemoryError: Container killed due to memory usage)',
    );
  });
});

describe('greenlight watch: CodeDeploy', () => {
  let codedeploy: AwsJsonServer;
  beforeAll(async () => {
    codedeploy = codeDeployServer();
    await codedeploy.start();
  });
  afterAll(() => codedeploy.stop());

  it('follows a CodeDeploy blue/green deployment through its lifecycle events to Succeeded', async () => {
    const world = await blueGreenDeployment(moto.url, 'watchcd');
    await worldClients(moto.url).elbv2.send(
      new RegisterTargetsCommand({
        TargetGroupArn: world.greenTargetGroupArn,
        Targets: [{ Id: '10.0.2.21', Port: 8080 }],
      }),
    );
    let polls = 0;
    codedeploy.reset();
    codedeploy.on('GetDeploymentGroup', (call) => forwardCall(moto.url, call));
    codedeploy.on('GetDeployment', async (call) => {
      const reply = await forwardCall(moto.url, call);
      if (!('body' in reply)) return reply;
      const info = (reply.body as { deploymentInfo: Record<string, unknown> }).deploymentInfo;
      // moto writes createTime as an ISO string and never moves the deployment on.
      info.createTime = Date.parse(String(info.createTime)) / 1000;
      info.status = polls++ < 3 ? 'InProgress' : 'Succeeded';
      return reply;
    });
    codedeploy.on('GetDeploymentTarget', (call) => {
      const doc = fixture('codedeploy-get-deployment-target');
      const target = doc.deploymentTarget.ecsTarget;
      Object.assign(target, { deploymentId: call.body.deploymentId, targetId: call.body.targetId });
      if (polls > 2) for (const e of target.lifecycleEvents) e.status = 'Succeeded';
      return { body: doc };
    });
    ecs.on('DescribeServices', (call) => forwardCall(moto.url, call));
    ecs.on('ListTasks', (call) => forwardCall(moto.url, call));
    restore();
    restore = useEndpoints({
      AWS_ENDPOINT_URL_ECS: ecs.url,
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: moto.url,
      AWS_ENDPOINT_URL_CLOUDWATCH: moto.url,
      AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.url,
    });

    const { code, stdout, stderr } = await run(['--deployment-id', world.deploymentId]);

    expect(stderr).toBe('');
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(
      `watching CodeDeploy deployment ${world.deploymentId} of service watchcd in cluster watchcd-cluster (codedeploy)`,
    );
    expect(stdout).toContain('lifecycle-event AfterAllowTestTraffic: InProgress');
    expect(stdout).toContain('lifecycle-event AfterAllowTestTraffic: Succeeded');
    expect(stdout).toMatch(new RegExp(`task set ecs-svc/\\d+ \\(${world.deploymentId}\\) ACTIVE`));
    expect(stdout).toMatch(/test listener [0-9a-f]+ forwards to [0-9a-f]+/);
    expect(stdout).toMatch(/target 10\.0\.2\.21:8080 in [0-9a-f]+: healthy/);
    expect(stdout).toContain(`CodeDeploy deployment ${world.deploymentId}: Succeeded`);
    expect(stdout).toMatch(/outcome\s+deployment completed\n$/);
  });

  it('names the lifecycle hook that failed a CodeDeploy deployment, with its reason, and exits 1', async () => {
    const world = await blueGreenDeployment(moto.url, 'watchfail');
    let polls = 0;
    codedeploy.reset();
    codedeploy.on('GetDeploymentGroup', (call) => forwardCall(moto.url, call));
    codedeploy.on('GetDeployment', async (call) => {
      const reply = await forwardCall(moto.url, call);
      if (!('body' in reply)) return reply;
      const info = (reply.body as { deploymentInfo: Record<string, unknown> }).deploymentInfo;
      info.createTime = Date.parse(String(info.createTime)) / 1000;
      if (polls++ < 2) info.status = 'InProgress';
      else
        Object.assign(info, {
          status: 'Failed',
          errorInformation: {
            code: 'HOOK_EXECUTION_FAILURE',
            message: 'The deployment failed because one or more lifecycle event hooks failed.',
          },
          rollbackInfo: { rollbackDeploymentId: 'd-RB0000001', rollbackMessage: 'automatic rollback' },
        });
      return reply;
    });
    codedeploy.on('GetDeploymentTarget', (call) => {
      const doc = fixture('codedeploy-get-deployment-target');
      const target = doc.deploymentTarget.ecsTarget;
      Object.assign(target, { deploymentId: call.body.deploymentId, targetId: call.body.targetId });
      if (polls > 1) {
        Object.assign(target.lifecycleEvents[4], {
          status: 'Failed',
          endTime: 1767268927.4,
          diagnostics: {
            errorCode: 'ScriptFailed',
            scriptName: '',
            message: 'CodeDeployHook_greenlight-prod-AfterAllowTestTraffic reported Failed',
            logTail: '',
          },
        });
        target.status = 'Failed';
      }
      return { body: doc };
    });
    ecs.on('DescribeServices', (call) => forwardCall(moto.url, call));
    ecs.on('ListTasks', (call) => forwardCall(moto.url, call));
    restore();
    restore = useEndpoints({
      AWS_ENDPOINT_URL_ECS: ecs.url,
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: moto.url,
      AWS_ENDPOINT_URL_CLOUDWATCH: moto.url,
      AWS_ENDPOINT_URL_CODEDEPLOY: codedeploy.url,
    });

    const { code, stdout } = await run(['--cluster', 'watchfail-cluster', '--service', 'watchfail']);

    expect(code).toBe(EXIT_FAILED);
    expect(stdout).toContain(`watching CodeDeploy deployment ${world.deploymentId} of service watchfail`);
    expect(stdout).toContain('lifecycle-event AfterAllowTestTraffic: Failed');
    expect(stdout).toMatch(/outcome\s+deployment rolled back/);
    expect(stdout).toContain(
      'diagnosis: lifecycle hook failed: AfterAllowTestTraffic Failed: CodeDeployHook_greenlight-prod-AfterAllowTestTraffic reported Failed',
    );
  });
});

describe('greenlight watch: when AWS misbehaves', () => {
  it('asks a throttled API less and less often, then carries on', async () => {
    const at: number[] = [];
    const clock = virtualClock();
    let n = 0;
    ecs.on('DescribeServices', () => {
      at.push(clock.now());
      n++;
      if (n === 1) return services((s) => bare(s));
      if (n <= 4) return { error: 'ThrottlingException', message: 'Rate exceeded' };
      return services((s, [next]) => {
        bare(s);
        s.deployments = [next];
        Object.assign(next!, { runningCount: 2, pendingCount: 0, rolloutState: 'COMPLETED' });
      });
    });
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const { code, stdout } = await run([...WEB, '--interval', '10s'], { clock });

    expect(code).toBe(EXIT_OK);
    const gaps = at.slice(1).map((t, i) => (t - at[i]!) / 10_000);
    expect(gaps).toEqual([1, 2, 4, 8]);
    expect(
      stdout.match(
        /ecs:DescribeServices: ThrottlingException: Rate exceeded \(throttled: asking less often\)/g,
      ),
    ).toHaveLength(1);
  });

  it('stops with a clear message when ECS stops answering, and exits 3', async () => {
    let n = 0;
    ecs.on('DescribeServices', () =>
      n++ === 0
        ? services((s) => bare(s))
        : { error: 'ServiceUnavailableException', message: 'Service Unavailable', status: 503 },
    );
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const { code, stdout } = await run([...WEB, '--interval', '10s', '--stall-after', '1m']);

    expect(code).toBe(EXIT_STALLED);
    expect(stdout).toMatch(
      /outcome\s+stopped watching: no answer from AWS for 60 s: ServiceUnavailableException: Service Unavailable/,
    );
  });

  it('keeps trying an ECS endpoint that refuses connections, then says so and exits 3', async () => {
    const port = await freePort();
    restore();
    restore = useEndpoints({ AWS_ENDPOINT_URL_ECS: `http://127.0.0.1:${port}` });

    const { code, stdout } = await run([...WEB, '--interval', '10s', '--stall-after', '30s']);

    expect(code).toBe(EXIT_STALLED);
    expect(stdout).toMatch(/source-error\s+ecs:DescribeServices failed: .*ECONNREFUSED/);
    expect(stdout).toMatch(/outcome\s+no answer for 30 s: ecs:DescribeServices failed: .*ECONNREFUSED/);
  });

  it('says a service that is not there cannot be followed, and exits 2', async () => {
    ecs.on('DescribeServices', () => ({
      body: {
        services: [],
        failures: [{ arn: 'arn:aws:ecs:eu-west-1:123456789012:service/web-cluster/nope', reason: 'MISSING' }],
      },
    }));

    const { code, stderr } = await run(['--cluster', 'web-cluster', '--service', 'nope']);

    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toBe(
      'greenlight watch: cannot follow: ecs:DescribeServices failed: ServiceNotFoundException: service nope in cluster web-cluster: MISSING\n',
    );
  });
});

describe('greenlight watch: the command line', () => {
  it.each([
    [[], 'give --cluster C --service S, or --deployment-id d-...'],
    [['--service', 'web'], '--cluster is missing: give --cluster and --service together'],
    [
      ['--deployment-id', 'd 123'],
      '--deployment-id: expected a CodeDeploy deployment id such as d-ABCDEF123, got "d 123"',
    ],
    [
      [...WEB, '--stall-after', 'soon'],
      '--stall-after: expected a duration such as 90s, 10m or 1h, got "soon"',
    ],
    [[...WEB, '--interval', '0.5s'], '--interval: at least 1s, got "0.5s"'],
    [[...WEB, '--interval', '1m', '--stall-after', '30s'], '--stall-after must be at least --interval (60s)'],
    [[...WEB, '--follow'], "Unknown option '--follow'"],
    [
      [...WEB, '--hook-log-group', ' '],
      '--hook-log-group: expected a log group or Lambda function name, got ""',
    ],
  ])('refuses %j with a usage error', async (args, message) => {
    const { code, stderr, stdout } = await run(args);
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain(`greenlight watch: ${message}`);
    expect(stderr).toContain('usage: greenlight watch (--cluster C --service S | --deployment-id d-...)');
    expect(stdout).toBe('');
  });

  it('prints one JSON object per event line, each valid against the documented schema', async () => {
    ecs.script(
      'DescribeServices',
      services((s) => bare(s)),
      services((s, [next]) => {
        bare(s);
        Object.assign(next!, {
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
        });
      }),
    );
    ecs.on('ListTasks', () => ({ body: { taskArns: [] } }));

    const { code, stdout } = await run([...WEB, '--json'], { tty: true });

    expect(code).toBe(EXIT_FAILED);
    expect(stdout).not.toContain('\x1b[');
    const ajv = new Ajv2020({ strict: false });
    addFormats(ajv);
    const validate = ajv.compile(timelineJsonSchema());
    const lines = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const line of lines) expect(validate.errors ?? validate(line)).toBe(true);
    expect(lines.map((l) => l.type)).toEqual([
      'watching',
      'revision',
      'revision',
      'revision',
      'outcome',
      'diagnosis',
    ]);
    expect(lines.at(-2)).toMatchObject({ time: '2026-01-01T12:00:10.000Z', data: { ending: 'rolled-back' } });
    expect(lines.at(-1).data).toMatchObject({ cause: 'circuit-breaker' });
  });
});
