import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { alarmsCheckTypeWith } from '../checks/alarms';
import { metricsCheckTypeWith } from '../checks/metrics';
import { runChecks, type PlannedCheck } from '../checks/runner';
import type { CheckContext } from '../checks/types';
import { awsClientConfig } from '../lib/aws';
import { silentLogger } from '../lib/log';
import { emitVerdictMetrics } from '../hooks/result-metrics';
import { cloudWatchServer } from '../test/support/aws-json-server';
import type { Bench, BenchFigure } from './harness';
import { median } from './harness';

const ROUNDS = 15;
const ALARMS = 1_000;
const ALARM_PAGE = 100;
const POINTS = 1_440; // a day of one-minute datapoints
const POINT_PAGE = 200;
const CHECKS_PER_VERDICT = 50;
const MAX_RATIO = 1.5;

function context(): CheckContext {
  return {
    signal: new AbortController().signal,
    deadline: Date.now() + 60_000,
    targets: { test: new URL('http://127.0.0.1:1') },
    deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
    log: silentLogger,
  };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Rounds alternate between the two, so drift in machine load hits both alike. */
async function timePair(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[number, number]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t0 = performance.now();
    await a();
    ta.push(performance.now() - t0);
    t0 = performance.now();
    await b();
    tb.push(performance.now() - t0);
  }
  return [median(ta), median(tb)];
}

const fail = () => {
  throw new Error('unexpected config error in bench');
};

/**
 * The CloudWatch checks' own cost on top of the SDK: judging 1,000 alarms over 10 pages, and a
 * day of datapoints over 8 pages, each against sending the same pages bare with the same client
 * to the same local server; plus EMF output for a 50-check verdict against JSON.stringify of it.
 */
export const cloudWatchBench: Bench = {
  id: 'cloudwatch',
  title: `alarms over ${ALARMS} alarms, metrics over ${POINTS} datapoints, EMF for ${CHECKS_PER_VERDICT} checks`,
  async run() {
    const server = cloudWatchServer();
    const endpoint = await server.start();
    // A local server: a fixed region and throwaway credentials, never the machine's own.
    const client = new CloudWatchClient({
      ...awsClientConfig(),
      endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
    try {
      const alarms = Array.from({ length: ALARMS }, (_, i) => ({
        AlarmName: `web-${String(i).padStart(4, '0')}`,
        StateValue: 'OK',
        StateReason: 'Threshold Crossed: no datapoints were greater than the threshold',
        StateTransitionedTimestamp: 1_714_557_600,
      }));
      server.on('DescribeAlarms', (call) => {
        const from = Number(call.body.NextToken ?? 0);
        const next = from + ALARM_PAGE;
        return {
          body: {
            MetricAlarms: alarms.slice(from, next),
            ...(next < ALARMS ? { NextToken: String(next) } : {}),
          },
        };
      });
      const timestamps = Array.from({ length: POINTS }, (_, i) => 1_714_557_600 + i * 60);
      server.on('GetMetricData', (call) => {
        const from = Number(call.body.NextToken ?? 0);
        const next = from + POINT_PAGE;
        const body = {
          MetricDataResults: [
            {
              Id: 'errors',
              Timestamps: timestamps.slice(from, next),
              Values: timestamps.slice(from, next).map((_, i) => i % 7),
              StatusCode: next < POINTS ? 'PartialData' : 'Complete',
            },
          ],
          ...(next < POINTS ? { NextToken: String(next) } : {}),
        };
        return { body };
      });

      const alarmsCheck = alarmsCheckTypeWith({ cloudWatch: () => client }).create(
        { names: undefined, prefixes: ['web-'], insufficientData: 'inconclusive', preExisting: 'block' },
        { name: 'alarms', path: 'checks.alarms', targets: ['test'], fail },
      );
      const alarmsBare = async () => {
        let token: string | undefined;
        do {
          const page = await client.send(
            new DescribeAlarmsCommand({
              AlarmNamePrefix: 'web-',
              MaxRecords: 100,
              ...(token ? { NextToken: token } : {}),
            }),
          );
          token = page.NextToken;
        } while (token);
      };
      const metricsCheck = metricsCheckTypeWith({ cloudWatch: () => client }).create(
        {
          queries: [
            {
              id: 'errors',
              metric: { namespace: 'AWS/ApplicationELB', name: 'HTTPCode_Target_5XX_Count' },
              stat: 'Sum',
            },
          ],
          windowSeconds: 86_400,
          condition: { aggregate: 'max', below: 10 },
          minDatapoints: 1,
          noData: 'inconclusive',
          evaluate: undefined,
          repeat: undefined,
        },
        { name: 'metrics', path: 'checks.metrics', targets: ['test'], fail },
      );
      const metricsBare = async () => {
        let token: string | undefined;
        do {
          const page = await client.send(
            new GetMetricDataCommand({
              MetricDataQueries: [
                {
                  Id: 'errors',
                  MetricStat: {
                    Metric: { Namespace: 'AWS/ApplicationELB', MetricName: 'HTTPCode_Target_5XX_Count' },
                    Period: 60,
                    Stat: 'Sum',
                  },
                },
              ],
              StartTime: new Date(Date.now() - 86_400_000),
              EndTime: new Date(),
              ...(token ? { NextToken: token } : {}),
            }),
          );
          token = page.NextToken;
        } while (token);
      };

      // Warm up the client, the connection and both code paths before measuring.
      for (let i = 0; i < 3; i++) {
        await alarmsBare();
        await alarmsCheck.run(context());
        await metricsBare();
        await metricsCheck.run(context());
      }
      const check = await alarmsCheck.run(context());
      if (check.outcome !== 'passed')
        throw new Error(`cloudwatch bench: alarms ${check.outcome}: ${check.message}`);
      const metrics = await metricsCheck.run(context());
      if (metrics.outcome !== 'passed')
        throw new Error(`cloudwatch bench: metrics ${metrics.outcome}: ${metrics.message}`);

      const [alarmsBareMs, alarmsCheckMs] = await timePair(alarmsBare, () => alarmsCheck.run(context()));
      const [metricsBareMs, metricsCheckMs] = await timePair(metricsBare, () => metricsCheck.run(context()));

      const planned: PlannedCheck[] = Array.from({ length: CHECKS_PER_VERDICT }, (_, i) => ({
        check: {
          name: `check-${i}`,
          type: 'noop',
          run: async () => ({
            outcome: i % 5 ? ('passed' as const) : ('inconclusive' as const),
            message: 'ok',
          }),
        },
      }));
      const verdict = await runChecks(planned, {
        deadline: Date.now() + 60_000,
        targets: {},
        deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
        log: silentLogger,
      });
      const sink = (_line: string) => {};
      const emfMs = await time(async () => {
        for (let i = 0; i < 100; i++)
          emitVerdictMetrics(verdict, { service: 'web', lifecycleEvent: 'AfterAllowTestTraffic' }, sink);
      });
      const stringifyMs = await time(async () => {
        for (let i = 0; i < 100; i++) sink(JSON.stringify(verdict));
      });

      const ratio = (a: number, b: number) => a / b;
      const figures: BenchFigure[] = [
        {
          name: `alarms check, ${ALARMS} alarms in ${ALARMS / ALARM_PAGE} pages`,
          value: alarmsCheckMs,
          unit: 'ms',
          baseline: { name: 'the same DescribeAlarms pages sent bare', value: alarmsBareMs, unit: 'ms' },
          target: `≤ ${MAX_RATIO}× baseline`,
          ok: ratio(alarmsCheckMs, alarmsBareMs) <= MAX_RATIO,
          note: `${ratio(alarmsCheckMs, alarmsBareMs).toFixed(2)}×`,
        },
        {
          name: `metrics check, ${POINTS} datapoints in ${Math.ceil(POINTS / POINT_PAGE)} pages`,
          value: metricsCheckMs,
          unit: 'ms',
          baseline: { name: 'the same GetMetricData pages sent bare', value: metricsBareMs, unit: 'ms' },
          target: `≤ ${MAX_RATIO}× baseline`,
          ok: ratio(metricsCheckMs, metricsBareMs) <= MAX_RATIO,
          note: `${ratio(metricsCheckMs, metricsBareMs).toFixed(2)}×`,
        },
        {
          name: `EMF for a verdict of ${CHECKS_PER_VERDICT} checks`,
          value: emfMs / 100,
          unit: 'ms',
          baseline: { name: 'JSON.stringify of the same verdict', value: stringifyMs / 100, unit: 'ms' },
          // Written once per hook invocation: a couple of milliseconds are nothing against a hook.
          target: '≤ 2 ms',
          ok: emfMs / 100 <= 2,
          note: `${ratio(emfMs, stringifyMs).toFixed(2)}×`,
        },
      ];
      return figures;
    } finally {
      client.destroy();
      await server.stop();
    }
  },
};
