import { alarmsCheckType } from '../../checks/alarms';
import { cloudWatchServer, codeDeployServer, type AwsCall } from '../support/aws-json-server';
import { checkFrom, configErrorOf, contextFor, epochSeconds } from './cloudwatch-test-kit';

const cloudWatch = cloudWatchServer();
const codeDeploy = codeDeployServer();

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = await cloudWatch.start();
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codeDeploy.start();
});
afterAll(async () => {
  await cloudWatch.stop();
  await codeDeploy.stop();
});
beforeEach(() => {
  cloudWatch.reset();
  codeDeploy.reset();
});

interface FakeAlarm {
  name: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason?: string;
  since?: string;
  composite?: boolean;
}

/** A CloudWatch that knows these alarms and answers DescribeAlarms by names or by prefix, `pageSize` at a time. */
function knownAlarms(alarms: FakeAlarm[], pageSize = 100) {
  cloudWatch.on('DescribeAlarms', (call: AwsCall) => {
    const { AlarmNames, AlarmNamePrefix, NextToken } = call.body as {
      AlarmNames?: string[];
      AlarmNamePrefix?: string;
      NextToken?: string;
    };
    const matching = alarms.filter((a) =>
      AlarmNames ? AlarmNames.includes(a.name) : a.name.startsWith(AlarmNamePrefix ?? ''),
    );
    const from = NextToken ? Number(NextToken.replace('page-', '')) : 0;
    const page = matching.slice(from, from + pageSize);
    const wire = (a: FakeAlarm) => ({
      AlarmName: a.name,
      AlarmArn: `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${a.name}`,
      StateValue: a.state,
      StateReason: a.reason ?? `state ${a.state}`,
      StateTransitionedTimestamp: epochSeconds(a.since ?? '2024-05-01T10:00:00Z'),
      StateUpdatedTimestamp: epochSeconds(a.since ?? '2024-05-01T10:00:00Z'),
    });
    const body: Record<string, unknown> = {
      MetricAlarms: page.filter((a) => !a.composite).map(wire),
      CompositeAlarms: page.filter((a) => a.composite).map(wire),
    };
    if (from + pageSize < matching.length) body.NextToken = `page-${from + pageSize}`;
    return { body };
  });
}

describe('alarms check', () => {
  it('passes when every named alarm is OK, over the current JSON 1.0 protocol', async () => {
    knownAlarms([
      { name: 'web-5xx', state: 'OK' },
      { name: 'web-latency', state: 'OK', composite: true },
    ]);
    const report = await checkFrom(alarmsCheckType, { names: ['web-5xx', 'web-latency'] }).run(contextFor());
    expect(report.outcome).toBe('passed');
    expect(report.message).toBe('2 alarms checked (2 by name): 2 OK');
    const [call] = cloudWatch.callsOf('DescribeAlarms');
    expect(call!.headers['x-amzn-query-mode']).toBe('true');
    expect(call!.target).toBe('GraniteServiceVersion20100801.DescribeAlarms');
    expect(call!.body).toMatchObject({
      AlarmNames: ['web-5xx', 'web-latency'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    });
  });

  it('fails with the name and reason of an alarm in ALARM', async () => {
    knownAlarms([
      {
        name: 'web-5xx',
        state: 'ALARM',
        reason:
          'Threshold Crossed: 1 datapoint [12.0 (01/05/24 10:00:00)] was greater than the threshold (5.0).',
        since: '2024-05-01T10:03:00Z',
      },
      { name: 'web-latency', state: 'OK' },
    ]);
    const report = await checkFrom(alarmsCheckType, { names: ['web-5xx', 'web-latency'] }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toBe(
      'alarm web-5xx is in ALARM since 2024-05-01T10:03:00Z: Threshold Crossed: 1 datapoint [12.0 (01/05/24 10:00:00)] was greater than the threshold (5.0).',
    );
    expect(report.assertions).toContainEqual({
      what: 'alarm web-5xx',
      expected: 'OK',
      actual: 'ALARM',
      ok: false,
    });
    expect(report.assertions).toContainEqual({
      what: 'alarm web-latency',
      expected: 'OK',
      actual: 'OK',
      ok: true,
    });
  });

  it('fails on a composite alarm in ALARM found by prefix and lists every firing alarm', async () => {
    knownAlarms([
      { name: 'web-cpu', state: 'ALARM', reason: 'cpu high' },
      { name: 'web-health', state: 'ALARM', reason: 'ALARM rule matched', composite: true },
      { name: 'web-mem', state: 'OK' },
      { name: 'other-cpu', state: 'ALARM' },
    ]);
    const report = await checkFrom(alarmsCheckType, { prefixes: ['web-'] }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toBe(
      '2 of 3 alarms in ALARM: web-cpu (cpu high); web-health (ALARM rule matched)',
    );
    expect(report.details?.notOk).toContainEqual(
      expect.objectContaining({ name: 'web-health', type: 'composite', state: 'ALARM' }),
    );
    expect(report.assertions).toContainEqual({
      what: 'other alarms matched by prefix',
      expected: 'OK',
      actual: '1 OK',
      ok: true,
    });
  });

  it.each([
    ['inconclusive', 'inconclusive'],
    ['failed', 'fail'],
    ['passed', 'pass'],
  ] as const)('makes INSUFFICIENT_DATA %s when insufficientData is %s', async (outcome, policy) => {
    knownAlarms([
      { name: 'web-5xx', state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data: 1 datapoint was unknown.' },
      { name: 'web-latency', state: 'OK' },
    ]);
    const report = await checkFrom(alarmsCheckType, {
      names: ['web-5xx', 'web-latency'],
      insufficientData: policy,
    }).run(contextFor());
    expect(report.outcome).toBe(outcome);
    expect(report.message).toContain(
      `alarm web-5xx in INSUFFICIENT_DATA (insufficientData: ${policy}): Insufficient Data: 1 datapoint was unknown.`,
    );
  });

  it('is an error when a configured alarm name does not exist (a typo checks nothing)', async () => {
    knownAlarms([{ name: 'web-5xx', state: 'OK' }]);
    const report = await checkFrom(alarmsCheckType, { names: ['web-5xx', 'web-5xz'] }).run(contextFor());
    expect(report.outcome).toBe('error');
    expect(report.message).toMatch(
      /^alarm "web-5xz" does not exist \(DescribeAlarms found no metric or composite alarm by that name/,
    );
    expect(report.assertions).toContainEqual({
      what: 'alarm web-5xz',
      expected: 'exists',
      actual: 'missing',
      ok: false,
    });
  });

  it('still fails, not errors, when one alarm is firing and another name is missing', async () => {
    knownAlarms([{ name: 'web-5xx', state: 'ALARM', reason: 'too many 5xx' }]);
    const report = await checkFrom(alarmsCheckType, { names: ['web-5xx', 'web-typo'] }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toMatch(
      /^alarm web-5xx is in ALARM .*too many 5xx; also alarm "web-typo" does not exist/,
    );
  });

  it('is an error when a prefix matches no alarm', async () => {
    knownAlarms([{ name: 'web-5xx', state: 'OK' }]);
    const report = await checkFrom(alarmsCheckType, { prefixes: ['api-'] }).run(contextFor());
    expect(report.outcome).toBe('error');
    expect(report.message).toBe('no alarm name starts with "api-" (prefixes entry matched nothing)');
  });

  it('follows NextToken over several pages of a prefix', async () => {
    const alarms: FakeAlarm[] = Array.from({ length: 25 }, (_, i) => ({
      name: `svc-${String(i).padStart(2, '0')}`,
      state: 'OK',
    }));
    alarms[23] = { name: 'svc-23', state: 'ALARM', reason: 'last page alarm' };
    knownAlarms(alarms, 10);
    const report = await checkFrom(alarmsCheckType, { prefixes: ['svc-'] }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toContain('svc-23 is in ALARM');
    expect(report.details?.checked).toBe(25);
    expect(report.assertions).toHaveLength(2);
    expect(cloudWatch.callsOf('DescribeAlarms').map((c) => c.body.NextToken)).toEqual([
      undefined,
      'page-10',
      'page-20',
    ]);
  });

  it('asks for names 100 at a time, as DescribeAlarms allows', async () => {
    const names = Array.from({ length: 150 }, (_, i) => `n-${i}`);
    knownAlarms(names.map((name) => ({ name, state: 'OK' })));
    const report = await checkFrom(alarmsCheckType, { names }).run(contextFor());
    expect(report.outcome).toBe('passed');
    expect(cloudWatch.callsOf('DescribeAlarms').map((c) => (c.body.AlarmNames as string[]).length)).toEqual([
      100, 50,
    ]);
  });

  it('stops paging when the server repeats a NextToken', async () => {
    cloudWatch.on('DescribeAlarms', () => ({ body: { MetricAlarms: [], NextToken: 'same' } }));
    const report = await checkFrom(alarmsCheckType, { prefixes: ['web-'] }).run(contextFor());
    expect(report.outcome).toBe('error');
    expect(report.message).toBe(
      'DescribeAlarms returned a NextToken it had already returned; stopped paging',
    );
  });

  describe('pre-existing alarms', () => {
    const deploymentId = 'd-PREEXIST1';
    beforeEach(() => {
      codeDeploy.script('GetDeployment', {
        body: {
          deploymentInfo: {
            deploymentId,
            applicationName: 'web',
            createTime: epochSeconds('2024-05-01T10:05:00Z'),
            status: 'InProgress',
          },
        },
      });
    });

    it('reports an alarm already in ALARM before the deployment started and does not block', async () => {
      knownAlarms([
        {
          name: 'web-cpu',
          state: 'ALARM',
          reason: 'cpu high since yesterday',
          since: '2024-05-01T09:00:00Z',
        },
        { name: 'web-5xx', state: 'OK' },
      ]);
      const report = await checkFrom(alarmsCheckType, {
        names: ['web-cpu', 'web-5xx'],
        preExisting: 'report',
      }).run(contextFor({ deploymentId }));
      expect(report.outcome).toBe('passed');
      expect(report.message).toBe(
        '2 alarms checked (2 by name): 1 OK; alarm web-cpu since 2024-05-01T09:00:00Z already in ALARM before the deployment started at 2024-05-01T10:05:00Z: reported as pre-existing, not blocking',
      );
      expect(report.assertions).toContainEqual({
        what: 'alarm web-cpu',
        expected: 'OK',
        actual: 'ALARM (pre-existing)',
        ok: true,
      });
      expect(codeDeploy.callsOf('GetDeployment').map((c) => c.body)).toEqual([{ deploymentId }]);
    });

    it('still blocks on an alarm that went into ALARM after the deployment started', async () => {
      knownAlarms([
        { name: 'web-cpu', state: 'ALARM', reason: 'old', since: '2024-05-01T09:00:00Z' },
        { name: 'web-5xx', state: 'ALARM', reason: 'new 5xx', since: '2024-05-01T10:06:00Z' },
      ]);
      const report = await checkFrom(alarmsCheckType, {
        names: ['web-cpu', 'web-5xx'],
        preExisting: 'report',
      }).run(contextFor({ deploymentId: 'd-PREEXIST2' }));
      expect(report.outcome).toBe('failed');
      expect(report.message).toBe(
        'alarm web-5xx is in ALARM since 2024-05-01T10:06:00Z: new 5xx; alarm web-cpu since 2024-05-01T09:00:00Z already in ALARM before the deployment started at 2024-05-01T10:05:00Z: reported as pre-existing, not blocking',
      );
    });

    it('blocks by default, without asking CodeDeploy', async () => {
      knownAlarms([{ name: 'web-cpu', state: 'ALARM', reason: 'old', since: '2024-05-01T09:00:00Z' }]);
      const report = await checkFrom(alarmsCheckType, { names: ['web-cpu'] }).run(
        contextFor({ deploymentId: 'd-PREEXIST3' }),
      );
      expect(report.outcome).toBe('failed');
      expect(codeDeploy.calls).toHaveLength(0);
    });

    it('says the option could not be applied when there is no deployment id (CLI)', async () => {
      knownAlarms([{ name: 'web-cpu', state: 'ALARM', reason: 'old', since: '2024-05-01T09:00:00Z' }]);
      const report = await checkFrom(alarmsCheckType, { names: ['web-cpu'], preExisting: 'report' }).run(
        contextFor(),
      );
      expect(report.outcome).toBe('failed');
      expect(report.message).toContain(
        'preExisting: report could not be applied: no deployment id (not run from a CodeDeploy hook), so every alarm in ALARM blocks',
      );
      expect(codeDeploy.calls).toHaveLength(0);
    });

    it('is an error naming codedeploy:GetDeployment when the role may not read the deployment', async () => {
      codeDeploy.script('GetDeployment', {
        error: 'AccessDeniedException',
        message:
          'User: arn:aws:sts::123456789012:assumed-role/hook/fn is not authorized to perform: codedeploy:GetDeployment',
      });
      knownAlarms([{ name: 'web-cpu', state: 'ALARM', reason: 'old', since: '2024-05-01T09:00:00Z' }]);
      const report = await checkFrom(alarmsCheckType, { names: ['web-cpu'], preExisting: 'report' }).run(
        contextFor({ deploymentId: 'd-DENIED001' }),
      );
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        /^could not tell whether alarm web-cpu in ALARM predates deployment d-DENIED001: GetDeployment was denied \(AccessDeniedException\): the role needs codedeploy:GetDeployment/,
      );
    });
  });

  describe('AWS failures', () => {
    it('passes when CloudWatch throttles and then answers (the client retries)', async () => {
      const ok = {
        body: { MetricAlarms: [{ AlarmName: 'web-5xx', StateValue: 'OK', StateReason: 'fine' }] },
      };
      cloudWatch.script(
        'DescribeAlarms',
        { error: 'Throttling', message: 'Rate exceeded' },
        { error: 'ThrottlingException', message: 'Rate exceeded' },
        ok,
      );
      const report = await checkFrom(alarmsCheckType, { names: ['web-5xx'] }).run(contextFor());
      expect(report.outcome).toBe('passed');
      expect(cloudWatch.callsOf('DescribeAlarms')).toHaveLength(3);
    });

    it('is an error naming cloudwatch:DescribeAlarms on AccessDenied', async () => {
      cloudWatch.script('DescribeAlarms', {
        error: 'AccessDeniedException',
        message:
          'User: arn:aws:sts::123456789012:assumed-role/hook/fn is not authorized to perform: cloudwatch:DescribeAlarms',
      });
      const report = await checkFrom(alarmsCheckType, { names: ['web-5xx'] }).run(contextFor());
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(
        /^DescribeAlarms was denied \(AccessDeniedException\): the role needs cloudwatch:DescribeAlarms; AWS said: User: /,
      );
      expect(cloudWatch.callsOf('DescribeAlarms')).toHaveLength(1);
    });

    it('gives up with an error when CloudWatch keeps failing with 500', async () => {
      cloudWatch.script('DescribeAlarms', { error: 'InternalFailure', status: 500, message: 'internal' });
      const report = await checkFrom(alarmsCheckType, { names: ['web-5xx'] }).run(contextFor());
      expect(report.outcome).toBe('error');
      expect(report.message).toBe('DescribeAlarms failed after 5 attempts: InternalFailure: internal');
    });

    it('ends with an error at the check deadline when CloudWatch never answers', async () => {
      cloudWatch.script('DescribeAlarms', { hang: true });
      const started = Date.now();
      const report = await checkFrom(alarmsCheckType, { names: ['web-5xx'] }).run(
        contextFor({ deadline: Date.now() + 300 }),
      );
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(/^DescribeAlarms got no answer before the check deadline/);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('stops at once when the runner aborts the check', async () => {
      cloudWatch.script('DescribeAlarms', { hang: true });
      const abort = new AbortController();
      setTimeout(
        () => abort.abort({ message: "cancelled: 'smoke' already decided the verdict (failed)" }),
        50,
      );
      const report = await checkFrom(alarmsCheckType, { names: ['web-5xx'] }).run(
        contextFor({ signal: abort.signal }),
      );
      expect(report.outcome).toBe('error');
      expect(report.message).toBe(
        "DescribeAlarms stopped: cancelled: 'smoke' already decided the verdict (failed)",
      );
    });
  });

  describe('options', () => {
    it.each([
      [
        'neither names nor prefixes',
        {},
        /checks\.cw\.names: expected at least one alarm name \(names\) or name prefix \(prefixes\)/,
      ],
      ['a name listed twice', { names: ['a', 'a'] }, /checks\.cw\.names: alarm "a" is listed twice/],
      [
        'an unknown insufficientData policy',
        { names: ['a'], insufficientData: 'ignore' },
        /checks\.cw\.insufficientData: expected one of "inconclusive", "pass", "fail"/,
      ],
      [
        'a boolean preExisting',
        { names: ['a'], preExisting: true },
        /checks\.cw\.preExisting: expected one of "block", "report"/,
      ],
      ['an unknown key', { names: ['a'], alarm: 'b' }, /checks\.cw\.alarm: unknown key/],
      ['an empty alarm name', { names: [''] }, /checks\.cw\.names\[0\]: expected at least 1 character/],
    ])('rejects %s when the config loads', (_, options, error) => {
      expect(configErrorOf(alarmsCheckType, options)).toMatch(error);
    });
  });
});
