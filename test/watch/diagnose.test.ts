import { diagnose, diagnosisLine } from '../../checks/diagnosis/diagnose';
import { emptyEvidence, type Ending, type Evidence } from '../../checks/diagnosis/evidence';
import { CAUSE_IDS, KNOWN_CAUSES, type CauseId } from '../../checks/diagnosis/known-causes';

const TD_NEW = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:8';
const TG_GREEN = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-green/6d0ecf831eec9f09';
const TG_BLUE = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web-blue/2c8d5f6e0a1b3c4d';
const TASK = 'arn:aws:ecs:eu-west-1:123456789012:task/web-cluster/4f1c3b9e2a7d4c0f8e6b5a4d3c2b1a09';

/** A rolling deployment of web:8 with one task stopped, two wanted: what most causes start from. */
function rolling(patch: Partial<Evidence> = {}): Evidence {
  return {
    ...emptyEvidence('rolling'),
    service: {
      arn: 'arn:aws:ecs:eu-west-1:123456789012:service/web-cluster/web',
      name: 'web',
      cluster: 'web-cluster',
      controller: 'ECS',
      desiredCount: 2,
      runningCount: 2,
      pendingCount: 0,
      minimumHealthyPercent: 100,
      maximumPercent: 200,
      healthCheckGracePeriodSeconds: 0,
    },
    revisions: [
      {
        id: 'ecs-svc/1111111111111111111',
        status: 'PRIMARY',
        taskDefinition: TD_NEW,
        desired: 2,
        running: 0,
        pending: 1,
        rolloutState: 'IN_PROGRESS',
        targetGroupArns: [TG_GREEN],
      },
      {
        id: 'ecs-svc/2222222222222222222',
        status: 'ACTIVE',
        desired: 2,
        running: 2,
        pending: 0,
        rolloutState: 'COMPLETED',
        targetGroupArns: [TG_GREEN],
      },
    ],
    newRevisionId: 'ecs-svc/1111111111111111111',
    replacementTargetGroupArns: [TG_GREEN],
    ...patch,
  };
}

const stopped = (
  stoppedReason: string,
  containers: Evidence['stoppedTasks'][0]['containers'],
  stopCode?: string,
) =>
  rolling({
    stoppedTasks: [
      {
        taskArn: TASK,
        taskDefinitionArn: TD_NEW,
        stoppedReason,
        ...(stopCode ? { stopCode } : {}),
        containers,
      },
    ],
  });
const target = (reason: string, description: string, targetGroupArn = TG_GREEN) =>
  rolling({
    targets: [{ targetGroupArn, id: '10.0.1.17', port: 8080, state: 'unhealthy', reason, description }],
  });
const codeDeploy = (patch: Partial<NonNullable<Evidence['codeDeploy']>>): Evidence => ({
  ...rolling({ kind: 'codedeploy' }),
  codeDeploy: {
    deploymentId: 'd-ABCDEF123',
    status: 'InProgress',
    rolledBack: false,
    lifecycleEvents: [],
    ...patch,
  },
});
const hooks = (...events: [string, string][]) => events.map(([name, status]) => ({ name, status }));

const cases: { cause: CauseId; ending: Ending; evidence: Evidence; says: RegExp }[] = [
  {
    cause: 'hook-timed-out',
    ending: 'stalled',
    evidence: {
      ...codeDeploy({
        lifecycleEvents: hooks(['BeforeInstall', 'Succeeded'], ['AfterInstall', 'InProgress']),
      }),
      stalledForMs: 3_600_000,
    },
    says: /AfterInstall InProgress for 60 min with no report/,
  },
  {
    cause: 'hook-timed-out',
    ending: 'rolled-back',
    evidence: codeDeploy({
      status: 'Failed',
      lifecycleEvents: [
        {
          name: 'AfterAllowTestTraffic',
          status: 'Failed',
          errorCode: 'ScriptTimedOut',
          message: 'The hook did not report within one hour',
        },
      ],
    }),
    says: /AfterAllowTestTraffic Failed: ScriptTimedOut/,
  },
  {
    cause: 'hook-failed',
    ending: 'rolled-back',
    evidence: codeDeploy({
      status: 'Failed',
      errorCode: 'HOOK_EXECUTION_FAILURE',
      lifecycleEvents: [
        {
          name: 'AfterAllowTestTraffic',
          status: 'Failed',
          errorCode: 'ScriptFailed',
          message: "'smoke' failed: GET /health returned 503, expected 200",
        },
      ],
    }),
    says: /AfterAllowTestTraffic Failed: 'smoke' failed: GET \/health returned 503/,
  },
  {
    cause: 'alarm',
    ending: 'rolled-back',
    evidence: rolling({
      alarms: [
        {
          name: 'web-5xx',
          state: 'ALARM',
          reason: 'Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0)',
        },
      ],
    }),
    says: /web-5xx is ALARM: Threshold Crossed/,
  },
  {
    cause: 'image-pull',
    ending: 'failed',
    evidence: stopped(
      'CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:8: not found',
      [{ name: 'web' }],
      'TaskFailedToStart',
    ),
    says: /CannotPullContainerError: .*web:8: not found/,
  },
  {
    cause: 'secret-not-found',
    ending: 'failed',
    evidence: stopped(
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:web/db-AbCdEf from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.",
      [{ name: 'web' }],
      'TaskFailedToStart',
    ),
    says: /ResourceInitializationError: unable to pull secrets/,
  },
  {
    cause: 'oom-kill',
    ending: 'rolled-back',
    evidence: stopped('Essential container in task exited', [
      { name: 'web', exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' },
    ]),
    says: /container web exited with code 137 \(OutOfMemoryError: Container killed due to memory usage\)/,
  },
  {
    cause: 'oom-kill',
    ending: 'rolled-back',
    evidence: stopped(
      'Essential container in task exited',
      [{ name: 'web', exitCode: 137 }],
      'EssentialContainerExited',
    ),
    says: /container web exited with code 137/,
  },
  {
    cause: 'essential-container-exited',
    ending: 'rolled-back',
    evidence: stopped(
      'Essential container in task exited',
      [{ name: 'web', exitCode: 1 }],
      'EssentialContainerExited',
    ),
    says: /task 4f1c3b9e2a7d4c0f8e6b5a4d3c2b1a09: essential container web exited with code 1/,
  },
  {
    cause: 'health-check-path',
    ending: 'stalled',
    evidence: target('Target.ResponseCodeMismatch', 'Health checks failed with these codes: [404]'),
    says: /target 10\.0\.1\.17:8080 in 6d0ecf831eec9f09 unhealthy: Target.ResponseCodeMismatch \(Health checks failed with these codes: \[404\]\)/,
  },
  {
    cause: 'health-check-timeout',
    ending: 'stalled',
    evidence: target('Target.Timeout', 'Request timed out'),
    says: /Target.Timeout \(Request timed out\); health check grace period 0 s/,
  },
  {
    cause: 'no-route',
    ending: 'stalled',
    evidence: target('Target.FailedHealthChecks', 'Health checks failed'),
    says: /Target.FailedHealthChecks/,
  },
  {
    cause: 'listener-old-target-group',
    ending: 'rolled-back',
    evidence: {
      ...codeDeploy({
        status: 'Failed',
        rolledBack: true,
        lifecycleEvents: hooks(['AllowTestTraffic', 'Succeeded']),
      }),
      listeners: [
        {
          arn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/50dc6c495c0c9188/0467ef3c8400ae65',
          role: 'test',
          forwardsTo: [TG_BLUE],
        },
      ],
    },
    says: /test listener 0467ef3c8400ae65 forwards to 2c8d5f6e0a1b3c4d, not to 6d0ecf831eec9f09/,
  },
  {
    cause: 'min-healthy-blocking-drain',
    ending: 'stalled',
    evidence: rolling({
      service: { ...rolling().service!, minimumHealthyPercent: 100, maximumPercent: 100 },
      events: [
        {
          id: 'e1',
          createdAt: 0,
          message:
            '(service web) was unable to place a task because no container instance met all of its requirements.',
        },
      ],
    }),
    says: /minimumHealthyPercent 100, maximumPercent 100: the old tasks keep 2 of 2 running, the new revision has 0 of 2; \(service web\) was unable to place a task/,
  },
  {
    cause: 'circuit-breaker',
    ending: 'rolled-back',
    evidence: rolling({
      revisions: rolling().revisions.map((r, i) =>
        i === 0
          ? {
              ...r,
              rolloutState: 'FAILED',
              rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
            }
          : r,
      ),
    }),
    says: /FAILED: ECS deployment circuit breaker: tasks failed to start/,
  },
  {
    cause: 'circuit-breaker',
    ending: 'rolled-back',
    evidence: rolling({
      kind: 'ecs-blue-green',
      serviceDeployment: {
        arn: 'arn:aws:ecs:eu-west-1:123456789012:service-deployment/web-cluster/web/r3k1TQhG5Jg9OCw2aFgGp',
        status: 'ROLLBACK_SUCCESSFUL',
        circuitBreaker: { status: 'TRIGGERED', failureCount: 3, threshold: 3 },
      },
    }),
    says: /circuit breaker TRIGGERED after 3 failed tasks \(threshold 3\)/,
  },
  {
    cause: 'unknown',
    ending: 'failed',
    evidence: codeDeploy({
      status: 'Failed',
      errorCode: 'ECS_UPDATE_ERROR',
      errorMessage: 'The ECS service cannot be updated',
    }),
    says: /last word: The ECS service cannot be updated/,
  },
];

describe('diagnose', () => {
  it.each(cases.map((c) => [c.cause, c.ending, c] as const))(
    'names %s when a deployment is %s',
    (_c, _e, c) => {
      const d = diagnose(c.evidence, c.ending);
      expect(d?.cause).toBe(c.cause);
      expect(d?.evidence).toMatch(c.says);
      expect(diagnosisLine(d!)).toBe(
        `diagnosis: ${KNOWN_CAUSES[c.cause].title}: ${d!.evidence} (fix: ${KNOWN_CAUSES[c.cause].fix})`,
      );
      expect(diagnosisLine(d!)).not.toContain('\n');
    },
  );

  it('has a table case for every known cause', () => {
    expect(new Set(cases.map((c) => c.cause))).toEqual(new Set(CAUSE_IDS));
  });

  it('says nothing about a completed deployment', () => {
    expect(
      diagnose(stopped('Essential container in task exited', [{ name: 'web', exitCode: 1 }]), 'completed'),
    ).toBeUndefined();
  });

  it('names the crashing container rather than the circuit breaker that it tripped', () => {
    const evidence = stopped('Essential container in task exited', [{ name: 'web', exitCode: 3 }]);
    evidence.revisions[0]!.rolloutState = 'FAILED';
    evidence.revisions[0]!.rolloutStateReason = 'ECS deployment circuit breaker: tasks failed to start.';
    expect(diagnose(evidence, 'rolled-back')?.cause).toBe('essential-container-exited');
  });

  it('counts the stopped tasks that share the cause', () => {
    const evidence = stopped('Essential container in task exited', [{ name: 'web', exitCode: 1 }]);
    evidence.stoppedTasks.push({ ...evidence.stoppedTasks[0]!, taskArn: `${TASK}b` });
    expect(diagnose(evidence, 'failed')?.evidence).toMatch(/\(2 stopped tasks alike\)$/);
  });

  it('ignores unhealthy targets of the old target group', () => {
    expect(
      diagnose(
        target('Target.ResponseCodeMismatch', 'Health checks failed with these codes: [404]', TG_BLUE),
        'stalled',
      )?.cause,
    ).toBe('unknown');
  });

  it('does not blame minimum healthy percent when the service may surge above desired', () => {
    expect(
      diagnose(rolling({ service: { ...rolling().service!, maximumPercent: 200 } }), 'stalled')?.cause,
    ).toBe('unknown');
  });

  it('does not blame the test listener before test traffic was shifted', () => {
    const evidence: Evidence = {
      ...codeDeploy({
        lifecycleEvents: hooks(['BeforeInstall', 'Succeeded'], ['AllowTestTraffic', 'Pending']),
      }),
      listeners: [{ arn: 'listener/test', role: 'test', forwardsTo: [TG_BLUE] }],
    };
    expect(diagnose(evidence, 'failed')?.cause).toBe('unknown');
  });

  it('does not blame an ECS production rule that a rollback points back at blue', () => {
    const rule = (status: string, lifecycleStage: string): Evidence => ({
      ...emptyEvidence('ecs-blue-green'),
      serviceDeployment: { arn: 'service-deployment/web-cluster/web/r3k1', status, lifecycleStage },
      replacementTargetGroupArns: [TG_GREEN],
      listeners: [
        {
          arn: 'listener-rule/app/web/1/2/9f2c',
          role: 'production',
          forwardsTo: [TG_BLUE],
          weights: [
            { targetGroupArn: TG_BLUE, weight: 100 },
            { targetGroupArn: TG_GREEN, weight: 0 },
          ],
        },
      ],
    });
    expect(diagnose(rule('ROLLBACK_SUCCESSFUL', 'CLEAN_UP'), 'rolled-back')?.cause).toBe('unknown');
    expect(diagnose(rule('IN_PROGRESS', 'TEST_TRAFFIC_SHIFT'), 'stalled')?.cause).toBe('unknown');
    expect(diagnose(rule('IN_PROGRESS', 'BAKE_TIME'), 'stalled')?.evidence).toMatch(
      /^production listener rule 9f2c forwards to /,
    );
  });

  it('prefers the hook’s own logged reason over CodeDeploy’s diagnostics', () => {
    const evidence: Evidence = {
      ...codeDeploy({
        lifecycleEvents: [
          {
            name: 'AfterAllowTestTraffic',
            status: 'Failed',
            errorCode: 'ScriptFailed',
            message: 'reported Failed',
          },
        ],
      }),
      hookVerdicts: [
        { hook: 'AfterAllowTestTraffic', status: 'Failed', reason: "'smoke' failed: 503", at: 1767268900000 },
      ],
    };
    expect(diagnose(evidence, 'failed')).toMatchObject({
      cause: 'hook-failed',
      evidence: "AfterAllowTestTraffic Failed: 'smoke' failed: 503",
    });
  });
});
