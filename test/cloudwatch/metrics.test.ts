import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { metricsCheckType, metricsCheckTypeWith } from '../../checks/metrics';
import { awsClientConfig } from '../../lib/aws';
import { cloudWatchServer } from '../support/aws-json-server';
import { checkFrom, configErrorOf, contextFor } from './cloudwatch-test-kit';
import { recent, serveMetricData } from './metric-store';

const cloudWatch = cloudWatchServer();
beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = await cloudWatch.start();
});
afterAll(() => cloudWatch.stop());
beforeEach(() => cloudWatch.reset());

const errors = {
  id: 'errors',
  metric: {
    namespace: 'AWS/ApplicationELB',
    name: 'HTTPCode_Target_5XX_Count',
    dimensions: { TargetGroup: 'targetgroup/web-green/6d0ecf831eec9f09' },
  },
  stat: 'Sum',
};
const ERRORS_TEXT =
  'errors (AWS/ApplicationELB HTTPCode_Target_5XX_Count {TargetGroup=targetgroup/web-green/6d0ecf831eec9f09} Sum per 60 s)';

describe('metrics check', () => {
  it('fails when a metric is above its threshold, with the value and the threshold', async () => {
    serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(1, 12, 3) });
    const report = await checkFrom(metricsCheckType, {
      queries: [errors],
      condition: { aggregate: 'max', below: 5 },
    }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toBe(
      `max of ${ERRORS_TEXT} over the last 300 s was 12, expected below 5 (3 datapoints)`,
    );
    expect(report.assertions).toEqual([
      { what: `max of ${ERRORS_TEXT} over the last 300 s`, expected: 'below 5', actual: 12, ok: false },
    ]);
  });

  it('passes when the metric meets the condition, and sends the query as configured', async () => {
    serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(1, 2, 3) });
    const report = await checkFrom(metricsCheckType, {
      queries: [errors],
      windowSeconds: 600,
      condition: { aggregate: 'max', below: 5 },
    }).run(contextFor());
    expect(report.outcome).toBe('passed');
    const [call] = cloudWatch.callsOf('GetMetricData');
    expect(call!.headers['x-amzn-query-mode']).toBe('true');
    const body = call!.body as { StartTime: number; EndTime: number; MetricDataQueries: unknown[] };
    expect(body.EndTime - body.StartTime).toBe(600);
    expect(body.MetricDataQueries).toEqual([
      {
        Id: 'errors',
        ReturnData: true,
        MetricStat: {
          Metric: {
            Namespace: 'AWS/ApplicationELB',
            MetricName: 'HTTPCode_Target_5XX_Count',
            Dimensions: [{ Name: 'TargetGroup', Value: 'targetgroup/web-green/6d0ecf831eec9f09' }],
          },
          Period: 60,
          Stat: 'Sum',
        },
      },
    ]);
  });

  it.each([
    ['last', 'atMost', 3, 'passed'],
    ['avg', 'atMost', 5, 'passed'],
    ['avg', 'below', 5, 'failed'],
    ['sum', 'atLeast', 16, 'failed'],
    ['min', 'above', 2, 'passed'],
    ['max', 'atMost', 9, 'passed'],
  ] as const)('judges the %s of [9, 3, 3] %s %d as %s', async (aggregate, bound, threshold, outcome) => {
    serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(9, 3, 3) });
    const report = await checkFrom(metricsCheckType, {
      queries: [errors],
      condition: { aggregate, [bound]: threshold },
    }).run(contextFor());
    expect(report.outcome).toBe(outcome);
  });

  it('is inconclusive when there are fewer datapoints than minDatapoints', async () => {
    serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(1) });
    const report = await checkFrom(metricsCheckType, {
      queries: [errors],
      minDatapoints: 3,
      condition: { below: 5 },
    }).run(contextFor());
    expect(report.outcome).toBe('inconclusive');
    expect(report.message).toBe(
      `${ERRORS_TEXT} had 1 datapoint over the last 300 s, expected at least 3 (noData: inconclusive)`,
    );
  });

  it('follows the noData policy when the metric has no datapoints at all', async () => {
    serveMetricData(cloudWatch, {});
    const check = (noData: string) =>
      checkFrom(metricsCheckType, { queries: [errors], noData, condition: { below: 5 } });
    expect((await check('fail').run(contextFor())).outcome).toBe('failed');
    expect((await check('pass').run(contextFor())).outcome).toBe('passed');
  });

  it('judges a metric math expression over other queries, which return no data themselves', async () => {
    serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(2, 30), RequestCount: recent(100, 200) });
    const requests = {
      id: 'requests',
      metric: { namespace: 'AWS/ApplicationELB', name: 'RequestCount' },
      stat: 'Sum',
    };
    const report = await checkFrom(metricsCheckType, {
      queries: [errors, requests, { id: 'ratio', expression: 'errors / requests * 100', label: '5xx %' }],
      evaluate: 'ratio',
      condition: { aggregate: 'last', atMost: 5 },
    }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toBe(
      'last of ratio "5xx %" (errors / requests * 100) over the last 300 s was 15, expected at most 5 (2 datapoints)',
    );
    const sent = cloudWatch.callsOf('GetMetricData')[0]!.body.MetricDataQueries as Array<{
      Id: string;
      ReturnData: boolean;
    }>;
    expect(sent.map((q) => [q.Id, q.ReturnData])).toEqual([
      ['errors', false],
      ['requests', false],
      ['ratio', true],
    ]);
  });

  it('merges datapoints over NextToken pages before judging', async () => {
    serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(1, 1, 1, 1, 1, 1, 1) }, { pageSize: 3 });
    const report = await checkFrom(metricsCheckType, {
      queries: [errors],
      windowSeconds: 600,
      condition: { aggregate: 'sum', below: 7 },
    }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toContain('was 7, expected below 7 (7 datapoints)');
    expect(cloudWatch.callsOf('GetMetricData').map((c) => c.body.NextToken)).toEqual([undefined, '1', '2']);
  });

  it('takes the newest datapoint as last even when the answer is not in time order', async () => {
    cloudWatch.script('GetMetricData', {
      body: {
        MetricDataResults: [
          {
            Id: 'errors',
            Timestamps: [1714557720, 1714557600, 1714557660],
            Values: [7, 1, 2],
            StatusCode: 'Complete',
          },
        ],
      },
    });
    const report = await checkFrom(metricsCheckType, {
      queries: [errors],
      condition: { aggregate: 'last', below: 5 },
    }).run(contextFor());
    expect(report.outcome).toBe('failed');
    expect(report.message).toContain('was 7, expected below 5');
  });

  it('passes a percentile statistic through to CloudWatch', async () => {
    serveMetricData(cloudWatch, { 'TargetResponseTime|p99|': recent(0.4, 0.45) });
    const latency = {
      id: 'latency',
      metric: { namespace: 'AWS/ApplicationELB', name: 'TargetResponseTime' },
      stat: 'p99',
      periodSeconds: 300,
    };
    const report = await checkFrom(metricsCheckType, {
      queries: [latency],
      condition: { aggregate: 'max', below: 0.5 },
    }).run(contextFor());
    expect(report.outcome).toBe('passed');
    expect(report.message).toBe(
      'max of latency (AWS/ApplicationELB TargetResponseTime p99 per 300 s) over the last 300 s was 0.45, expected below 0.5 (2 datapoints)',
    );
  });

  it('is an error when CloudWatch cannot evaluate the query (Forbidden status)', async () => {
    cloudWatch.script('GetMetricData', {
      body: {
        MetricDataResults: [
          {
            Id: 'errors',
            Timestamps: [],
            Values: [],
            StatusCode: 'Forbidden',
            Messages: [{ Code: 'Forbidden', Value: 'no access to account 111122223333' }],
          },
        ],
      },
    });
    const report = await checkFrom(metricsCheckType, { queries: [errors], condition: { below: 5 } }).run(
      contextFor(),
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toBe(
      `GetMetricData could not evaluate ${ERRORS_TEXT} (Forbidden): Forbidden: no access to account 111122223333`,
    );
  });

  it('is an error naming cloudwatch:GetMetricData on AccessDenied', async () => {
    cloudWatch.script('GetMetricData', {
      error: 'AccessDenied',
      message: 'User is not authorized to perform: cloudwatch:GetMetricData',
    });
    const report = await checkFrom(metricsCheckType, { queries: [errors], condition: { below: 5 } }).run(
      contextFor(),
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toBe(
      'GetMetricData was denied (AccessDenied): the role needs cloudwatch:GetMetricData; AWS said: User is not authorized to perform: cloudwatch:GetMetricData',
    );
  });

  it('passes when CloudWatch throttles and then answers', async () => {
    let calls = 0;
    const answer = {
      body: {
        MetricDataResults: [{ Id: 'errors', Timestamps: [1714557600], Values: [1], StatusCode: 'Complete' }],
      },
    };
    cloudWatch.on('GetMetricData', () =>
      ++calls < 3 ? { error: 'Throttling', message: 'Rate exceeded' } : answer,
    );
    const report = await checkFrom(metricsCheckType, { queries: [errors], condition: { below: 5 } }).run(
      contextFor(),
    );
    expect(report.outcome).toBe('passed');
    expect(calls).toBe(3);
  });

  it('stops paging after a bounded number of pages when NextToken never ends', async () => {
    let page = 0;
    cloudWatch.on('GetMetricData', () => ({ body: { MetricDataResults: [], NextToken: `t${page++}` } }));
    const report = await checkFrom(metricsCheckType, { queries: [errors], condition: { below: 5 } }).run(
      contextFor(),
    );
    expect(report.outcome).toBe('error');
    expect(report.message).toBe(
      'GetMetricData still had more pages after 50; narrow the window or the queries',
    );
  });

  describe('a hostile endpoint', () => {
    let hostile: Server;
    let client: CloudWatchClient;
    let behave: (res: import('node:http').ServerResponse) => void = () => {};
    beforeAll(async () => {
      hostile = createServer((req, res) => {
        req.resume();
        req.on('end', () => behave(res));
      });
      await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
      client = new CloudWatchClient({
        ...awsClientConfig(),
        endpoint: `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`,
      });
    });
    afterAll(async () => {
      client.destroy();
      hostile.closeAllConnections();
      await new Promise((resolve) => hostile.close(resolve));
    });
    const check = () =>
      checkFrom(metricsCheckTypeWith({ cloudWatch: () => client }), {
        queries: [errors],
        condition: { below: 5 },
      });

    it('is an error, not a crash, when CloudWatch answers with invalid JSON', async () => {
      behave = (res) =>
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{"MetricDataResults": [');
      const report = await check().run(contextFor());
      expect(report.outcome).toBe('error');
      expect(report.message).toBe('GetMetricData failed: SyntaxError: Unexpected end of JSON input');
    });

    it('is an error at the deadline when the answer never ends', async () => {
      behave = (res) =>
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).write('{"MetricDataResults": [');
      const started = Date.now();
      const report = await check().run(contextFor({ deadline: Date.now() + 500 }));
      expect(report.outcome).toBe('error');
      expect(report.message).toMatch(/^GetMetricData got no answer before the check deadline \(\d+ ms\)$/);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });

  describe('repeated measurement', () => {
    it('stops at the first bad measurement beyond the failure limit', async () => {
      serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(9) });
      const report = await checkFrom(metricsCheckType, {
        queries: [errors],
        condition: { aggregate: 'max', below: 5 },
        repeat: { count: 5, intervalMs: 10_000 },
      }).run(contextFor());
      expect(report.outcome).toBe('failed');
      expect(report.message).toBe(
        `measurement 1 of 5: max of ${ERRORS_TEXT} over the last 300 s was 9, expected below 5 (1 datapoint) (1 not passed, failureLimit 0)`,
      );
      expect(cloudWatch.callsOf('GetMetricData')).toHaveLength(1);
    });

    it('passes when the bad measurements stay within the failure limit', async () => {
      let n = 0;
      cloudWatch.on('GetMetricData', () => ({
        body: {
          MetricDataResults: [
            {
              Id: 'errors',
              Timestamps: [Date.now() / 1000],
              Values: [n++ === 0 ? 9 : 1],
              StatusCode: 'Complete',
            },
          ],
        },
      }));
      const started = Date.now();
      const report = await checkFrom(metricsCheckType, {
        queries: [errors],
        condition: { aggregate: 'max', below: 5 },
        repeat: { count: 2, intervalMs: 1_000, failureLimit: 1 },
      }).run(contextFor());
      expect(report.outcome).toBe('passed');
      expect(report.message).toMatch(
        /^1 of 2 measurements passed, 1 tolerated by failureLimit 1; last: max of errors .* was 1, expected below 5/,
      );
      expect(report.assertions!.map((a) => a.ok)).toEqual([false, true]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    });

    it('is inconclusive when the remaining measurements cannot fit before the deadline', async () => {
      serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(1) });
      const started = Date.now();
      const report = await checkFrom(metricsCheckType, {
        queries: [errors],
        condition: { below: 5 },
        repeat: { count: 3, intervalMs: 60_000 },
      }).run(contextFor({ deadline: Date.now() + 5_000 }));
      expect(report.outcome).toBe('inconclusive');
      expect(report.message).toMatch(
        /^only 1 of 3 measurements fit before the check deadline \(every 60000 ms\); last: /,
      );
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it('ends the wait between measurements when the check is stopped', async () => {
      serveMetricData(cloudWatch, { HTTPCode_Target_5XX_Count: recent(1) });
      const abort = new AbortController();
      setTimeout(
        () => abort.abort({ message: 'did not finish before the hook deadline (5000 ms budget)' }),
        100,
      );
      const report = await checkFrom(metricsCheckType, {
        queries: [errors],
        condition: { below: 5 },
        repeat: { count: 3, intervalMs: 2_000 },
      }).run(contextFor({ signal: abort.signal }));
      expect(report.outcome).toBe('error');
      expect(report.message).toBe(
        'stopped after 1 of 3 measurements: did not finish before the hook deadline (5000 ms budget)',
      );
    });
  });

  describe('options', () => {
    const requests = {
      id: 'requests',
      metric: { namespace: 'AWS/ApplicationELB', name: 'RequestCount' },
      stat: 'Sum',
    };
    it.each([
      [
        'no evaluate with two queries',
        { queries: [errors, requests], condition: { below: 1 } },
        /checks\.cw\.evaluate: expected the id of the query to judge, one of errors, requests/,
      ],
      [
        'an unknown evaluate id',
        { queries: [errors], evaluate: 'ratio', condition: { below: 1 } },
        /checks\.cw\.evaluate: unknown query id "ratio"; queries: errors/,
      ],
      [
        'two queries with one id',
        { queries: [errors, { ...requests, id: 'errors' }], evaluate: 'errors', condition: { below: 1 } },
        /checks\.cw\.queries: id "errors" is used by two queries/,
      ],
      [
        'an unknown statistic',
        { queries: [{ ...errors, stat: 'Avg' }], condition: { below: 1 } },
        /checks\.cw\.queries\[0\]\.stat: expected a CloudWatch statistic/,
      ],
      [
        'a metric without a statistic',
        { queries: [{ ...errors, stat: undefined }], condition: { below: 1 } },
        /checks\.cw\.queries\[0\]\.stat: expected a statistic for metric/,
      ],
      [
        'both metric and expression',
        { queries: [{ ...errors, expression: 'a+b' }], condition: { below: 1 } },
        /checks\.cw\.queries\[0\]\.metric: expected exactly one of metric or expression/,
      ],
      [
        'an id CloudWatch rejects',
        { queries: [{ ...errors, id: 'Errors' }], condition: { below: 1 } },
        /checks\.cw\.queries\[0\]\.id: expected an id that starts with a lowercase letter/,
      ],
      [
        'a period CloudWatch rejects',
        { queries: [{ ...errors, periodSeconds: 45 }], condition: { below: 1 } },
        /checks\.cw\.queries\[0\]\.periodSeconds: expected 1, 5, 10, 20, 30 or a multiple of 60 seconds/,
      ],
      [
        'two bounds in a condition',
        { queries: [errors], condition: { below: 1, above: 0 } },
        /checks\.cw\.condition: expected exactly one of below, atMost, above, atLeast, got below and above/,
      ],
      [
        'an unknown aggregate',
        { queries: [errors], condition: { aggregate: 'median', below: 1 } },
        /checks\.cw\.condition\.aggregate: expected one of "last", "avg", "max", "min", "sum"/,
      ],
      ['no condition', { queries: [errors] }, /checks\.cw\.condition: required, expected a mapping/],
      [
        'a repeat schedule longer than a Lambda',
        { queries: [errors], condition: { below: 1 }, repeat: { count: 20, intervalMs: 60_000 } },
        /checks\.cw\.repeat: 20 measurements 60000 ms apart take longer than a Lambda can run/,
      ],
      [
        'a failureLimit as large as count',
        {
          queries: [errors],
          condition: { below: 1 },
          repeat: { count: 2, intervalMs: 1_000, failureLimit: 2 },
        },
        /checks\.cw\.repeat\.failureLimit: expected fewer than count \(2\), got 2/,
      ],
      [
        'a window under a minute',
        { queries: [errors], condition: { below: 1 }, windowSeconds: 30 },
        /checks\.cw\.windowSeconds: expected a number ≥ 60/,
      ],
    ])('rejects %s when the config loads', (_, options, error) => {
      expect(configErrorOf(metricsCheckType, options as Record<string, unknown>)).toMatch(error);
    });
  });
});
