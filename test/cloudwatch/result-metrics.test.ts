import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChecks, type Verdict } from '../../checks/runner';
import { createHookHandler } from '../../hooks/hook-handler';
import { silentLogger } from '../../lib/log';
import { emitVerdictMetrics, type EmfDocument } from '../../hooks/result-metrics';
import { putVerdictMetrics } from '../../hooks/put-result-metrics';
import { cloudWatchServer, codeDeployServer } from '../support/aws-json-server';
import { scriptedCheckType } from '../support/test-check-types';

const cloudWatch = cloudWatchServer();
const codeDeploy = codeDeployServer();
let dir: string;

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH = await cloudWatch.start();
  process.env.AWS_ENDPOINT_URL_CODEDEPLOY = await codeDeploy.start();
  dir = mkdtempSync(join(tmpdir(), 'greenlight-result-metrics-'));
});
afterAll(async () => {
  await cloudWatch.stop();
  await codeDeploy.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  cloudWatch.reset();
  codeDeploy.reset();
});

const EMF_UNITS = new Set(['Count', 'Milliseconds', 'Seconds', 'None', 'Percent']);

/** The rules of the embedded metric format that CloudWatch Logs enforces before it extracts a metric. */
function expectValidEmf(doc: EmfDocument): void {
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  expect(Math.abs(doc._aws.Timestamp - Date.now())).toBeLessThan(60_000);
  expect(doc._aws.CloudWatchMetrics).toHaveLength(1);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(typeof directive.Namespace).toBe('string');
    expect(directive.Metrics.length).toBeLessThanOrEqual(100);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const dimension of set) expect(typeof doc[dimension]).toBe('string');
    }
    for (const metric of directive.Metrics) {
      expect(typeof doc[metric.Name]).toBe('number');
      expect(EMF_UNITS.has(metric.Unit)).toBe(true);
    }
  }
}

async function verdictOf(behaviours: Array<[string, string]>): Promise<Verdict> {
  return runChecks(
    behaviours.map(([name, behaviour]) => ({
      check: scriptedCheckType.create(
        { behaviour: behaviour as 'pass', delayMs: 0 },
        { name, path: `checks.${name}`, targets: ['test'], fail: () => new Error('unused') as never },
      ),
    })),
    {
      deadline: Date.now() + 5_000,
      targets: { test: new URL('http://127.0.0.1:1') },
      deployment: { lifecycleEvent: 'AfterAllowTestTraffic' },
      log: silentLogger,
      failFast: false,
    },
  );
}

describe('result metrics', () => {
  it("appear in the hook handler's log output as one EMF document per verdict and per check", async () => {
    codeDeploy.script('PutLifecycleEventHookExecutionStatus', {
      body: { lifecycleEventHookExecutionId: 'exec-1' },
    });
    const config = join(dir, 'greenlight.yml');
    writeFileSync(
      config,
      'targets: { test: "http://127.0.0.1:1" }\nchecks:\n  smoke: { type: scripted, behaviour: pass }\n  alarms: { type: scripted, behaviour: fail, message: "alarm web-5xx is in ALARM" }\nhooks:\n  AfterAllowTestTraffic: [smoke, alarms]\nrunner: { failFast: false }\n',
    );
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    const handler = createHookHandler('AfterAllowTestTraffic', {
      checkTypes: [scriptedCheckType],
      configPath: config,
    });
    const lines: string[] = [];
    // Lambda sends stdout and stderr to the same log stream.
    const capture = (chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      process.env.GREENLIGHT_SERVICE = 'web';
      await handler(
        { DeploymentId: 'd-EMF000001', LifecycleEventHookExecutionId: 'exec-1' },
        { getRemainingTimeInMillis: () => 30_000 },
      );
    } finally {
      delete process.env.GREENLIGHT_SERVICE;
      stdout.mockRestore();
      stderr.mockRestore();
      process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    }

    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.filter((e) => e.message === 'verdict' || e.message === 'check result')).toHaveLength(3);
    const docs = entries.filter((e) => e._aws) as EmfDocument[];
    expect(docs).toHaveLength(3);
    docs.forEach(expectValidEmf);
    const [verdict, smoke, alarms] = docs;
    expect(verdict!._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: 'Greenlight',
      Dimensions: [['service', 'lifecycleEvent']],
      Metrics: [
        { Name: 'VerdictSucceeded', Unit: 'Count' },
        { Name: 'VerdictFailed', Unit: 'Count' },
        { Name: 'VerdictDurationMs', Unit: 'Milliseconds' },
      ],
    });
    expect(verdict).toMatchObject({
      service: 'web',
      lifecycleEvent: 'AfterAllowTestTraffic',
      deploymentId: 'd-EMF000001',
      status: 'Failed',
      outcome: 'failed',
      VerdictSucceeded: 0,
      VerdictFailed: 1,
    });
    expect(smoke!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'lifecycleEvent', 'check']]);
    expect(smoke).toMatchObject({
      check: 'smoke',
      checkType: 'scripted',
      outcome: 'passed',
      CheckPassed: 1,
      CheckFailed: 0,
      CheckError: 0,
      CheckInconclusive: 0,
    });
    expect(alarms).toMatchObject({ check: 'alarms', outcome: 'failed', CheckPassed: 0, CheckFailed: 1 });
    expect(typeof alarms!.CheckDurationMs).toBe('number');
  });

  it('writes one JSON line per document to the given output', async () => {
    const verdict = await verdictOf([
      ['a', 'pass'],
      ['b', 'inconclusive'],
      ['c', 'error'],
    ]);
    const lines: string[] = [];
    emitVerdictMetrics(
      verdict,
      { service: 'web', lifecycleEvent: 'BeforeAllowTraffic' },
      (line) => lines.push(line),
      { namespace: 'Acme/Deploys', timestamp: Date.now() },
    );
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    const docs = lines.map((l) => JSON.parse(l) as EmfDocument);
    docs.forEach(expectValidEmf);
    expect(docs.map((d) => d._aws.CloudWatchMetrics[0]!.Namespace)).toEqual(Array(4).fill('Acme/Deploys'));
    expect(docs.slice(1).map((d) => [d.check, d.CheckInconclusive, d.CheckError])).toEqual([
      ['a', 0, 0],
      ['b', 1, 0],
      ['c', 0, 1],
    ]);
    expect(docs[0]).toMatchObject({ VerdictSucceeded: 0, VerdictFailed: 1, outcome: 'error' });
  });

  it('sends the same metrics with PutMetricData for the CLI', async () => {
    cloudWatch.script('PutMetricData', { body: {} });
    const verdict = await verdictOf([['smoke', 'pass']]);
    await putVerdictMetrics(verdict, { service: 'web', lifecycleEvent: 'AfterAllowTestTraffic' });
    const [call] = cloudWatch.callsOf('PutMetricData');
    expect(call!.headers['x-amzn-query-mode']).toBe('true');
    const body = call!.body as {
      Namespace: string;
      MetricData: Array<{ MetricName: string; Dimensions: unknown; Value: number; Unit: string }>;
    };
    expect(body.Namespace).toBe('Greenlight');
    expect(body.MetricData.map((d) => `${d.MetricName}=${d.Value}`)).toEqual([
      'VerdictSucceeded=1',
      'VerdictFailed=0',
      `VerdictDurationMs=${verdict.durationMs}`,
      'CheckPassed=1',
      'CheckFailed=0',
      'CheckError=0',
      'CheckInconclusive=0',
      `CheckDurationMs=${verdict.checks[0]!.durationMs}`,
    ]);
    expect(body.MetricData[3]!.Dimensions).toEqual([
      { Name: 'service', Value: 'web' },
      { Name: 'lifecycleEvent', Value: 'AfterAllowTestTraffic' },
      { Name: 'check', Value: 'smoke' },
    ]);
  });

  it('says PutMetricData needs cloudwatch:PutMetricData when it is denied', async () => {
    cloudWatch.script('PutMetricData', { error: 'AccessDenied', message: 'not authorized' });
    const verdict = await verdictOf([['smoke', 'pass']]);
    await expect(
      putVerdictMetrics(verdict, { service: 'web', lifecycleEvent: 'AfterAllowTestTraffic' }),
    ).rejects.toThrow(
      'PutMetricData was denied (AccessDenied): the role needs cloudwatch:PutMetricData; AWS said: not authorized',
    );
  });
});
