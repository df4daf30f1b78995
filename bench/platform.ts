import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHookHandler, type HookHandler } from '../hooks/hook-handler';
import { silentLogger } from '../lib/log';
import { AwsJsonServer, codeDeployServer } from '../test/support/aws-json-server';
import { S3Objects } from '../test/support/s3-objects';
import type { Bench, BenchFigure } from './harness';
import { median } from './harness';

const ROUNDS = 200;
const WARMUP = 20;
const SERVICES = 200;
const BUCKET = 'platform-bench';
const TEMPLATE = `s3://${BUCKET}/greenlight/{application}/{deploymentGroup}.yml`;
const ADDED_TARGET_MS = 5;
const SHORT_TTL_S = 1;

function configText(url: string, service: string): string {
  return `targets: { test: "${url}" }
checks:
  ${service}-health:
    type: http
    requests: [{ path: /health, expect: { status: 200 } }]
hooks:
  AfterAllowTestTraffic: [${service}-health]
`;
}

/** Environment for the duration of `work`, restored after. */
async function withEnv<T>(vars: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await work();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

let deployments = 0;
let executions = 0;
/** When each execution's report reached the local CodeDeploy (performance.now()). */
const reportedAt = new Map<string, number>();
/**
 * One hook invocation for a fresh deployment of `service` (or the given one again): the time to
 * its verdict, until the report reaches CodeDeploy (what the hook does after that, logging and
 * metrics, does not hold the deployment).
 */
async function timeToVerdict(
  handler: HookHandler,
  serviceOf: Map<string, string>,
  service: string,
  DeploymentId = `d-BENCH${String(++deployments).padStart(5, '0')}`,
) {
  serviceOf.set(DeploymentId, service);
  const execution = `exec-${++executions}`;
  const t0 = performance.now();
  const outcome = await handler(
    { DeploymentId, LifecycleEventHookExecutionId: execution },
    { getRemainingTimeInMillis: () => 60_000 },
  );
  const reported = reportedAt.get(execution);
  reportedAt.delete(execution);
  if (outcome.status !== 'Succeeded' || reported === undefined)
    throw new Error(`${service}: ${outcome.reason} (${outcome.delivery})`);
  return reported - t0;
}

/**
 * Platform mode's cost in a warm function: the time to a verdict with the config read from S3
 * and cached, against the same check from a bundled file in the same process (each deployment new,
 * so the platform side also asks GetDeployment once); and 200 services' configs through one
 * function, counting reads on a local S3: at most one per config per TTL, and after the TTL a
 * conditional read that moves no body.
 */
export const platformBench: Bench = {
  id: 'platform',
  title: 'platform mode: a cached per-deployment config, and 200 services through one function',
  async run() {
    const app: Server = createServer((_, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    const s3 = new S3Objects();
    const codedeploy = codeDeployServer();
    const serviceOf = new Map<string, string>();
    codedeploy.on('GetDeployment', (call) => {
      const service = serviceOf.get(String(call.body.deploymentId)) ?? 'unknown';
      return {
        body: {
          deploymentInfo: {
            deploymentId: call.body.deploymentId,
            applicationName: service,
            deploymentGroupName: 'prod',
            computePlatform: 'ECS',
          },
        },
      };
    });
    codedeploy.on('PutLifecycleEventHookExecutionStatus', (call) => {
      reportedAt.set(String(call.body.lifecycleEventHookExecutionId), performance.now());
      return { body: { lifecycleEventHookExecutionId: call.body.lifecycleEventHookExecutionId } };
    });
    // The platform stack looks for a break-glass switch when it could change a verdict: none is set.
    const ssm = new AwsJsonServer({ targetPrefix: 'AmazonSSM', contentType: 'application/x-amz-json-1.1' });
    ssm.on('GetParameter', (call) => ({
      error: 'ParameterNotFound',
      message: `${String(call.body.Name)} not found`,
    }));
    const dir = mkdtempSync(join(tmpdir(), 'platform-bench-'));
    const figures: BenchFigure[] = [];
    try {
      const [s3Url, codeDeployUrl, ssmUrl] = await Promise.all([s3.start(), codedeploy.start(), ssm.start()]);
      const file = join(dir, 'greenlight.yml');
      writeFileSync(file, configText(appUrl, 'svc-0'));
      for (let i = 0; i < SERVICES; i++)
        s3.put(BUCKET, `greenlight/svc-${i}/prod.yml`, configText(appUrl, `svc-${i}`));
      const env = {
        // Local stand-ins only: a region and made-up credentials for the SDK's signing.
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'bench',
        AWS_SECRET_ACCESS_KEY: 'bench',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        AWS_ENDPOINT_URL_S3: s3Url,
        AWS_ENDPOINT_URL_CODEDEPLOY: codeDeployUrl,
        AWS_ENDPOINT_URL_SSM: ssmUrl,
        GREENLIGHT_TENANT_PREFIX: 'greenlight/{application}/',
        GREENLIGHT_ALLOWED_HOSTS: '127.0.0.1',
      };
      // The platform side as the platform stack sets it, break-glass lookups included.
      const breakGlass = { GREENLIGHT_BREAK_GLASS_PREFIX: '/greenlight-break-glass/' };
      const asPlatform = (...args: Parameters<typeof timeToVerdict>) =>
        withEnv(breakGlass, () => timeToVerdict(...args));
      await withEnv(env, async () => {
        const bundled = createHookHandler('AfterAllowTestTraffic', {
          configPath: file,
          log: silentLogger,
          metrics: false,
        });
        const platform = createHookHandler('AfterAllowTestTraffic', {
          configPath: TEMPLATE,
          log: silentLogger,
          metrics: false,
        });
        for (let i = 0; i < WARMUP; i++) {
          await timeToVerdict(bundled, serviceOf, 'svc-0');
          await asPlatform(platform, serviceOf, 'svc-0');
        }
        const bundledMs: number[] = [];
        const platformMs: number[] = [];
        const knownMs: number[] = [];
        for (let i = 0; i < ROUNDS; i++) {
          bundledMs.push(await timeToVerdict(bundled, serviceOf, 'svc-0'));
          platformMs.push(await asPlatform(platform, serviceOf, 'svc-0'));
          knownMs.push(await asPlatform(platform, serviceOf, 'svc-0', 'd-BENCHKNOWN'));
        }
        const baseline = { name: 'bundled config, same check', value: median(bundledMs), unit: 'ms' };
        const added = median(platformMs) - median(bundledMs);
        figures.push({
          name: 'added time to verdict, warm, config cached, new deployment',
          value: added,
          unit: 'ms',
          baseline,
          target: `≤ ${ADDED_TARGET_MS} ms`,
          ok: added <= ADDED_TARGET_MS,
          note: `medians of ${ROUNDS} invocations each, until the report reaches CodeDeploy; includes the GetDeployment a new deployment needs for {application}/{deploymentGroup} (the break-glass switch is looked up only for a verdict it could change)`,
        });
        const addedKnown = median(knownMs) - median(bundledMs);
        figures.push({
          name: 'added time to verdict, warm, config and deployment cached',
          value: addedKnown,
          unit: 'ms',
          baseline,
          target: `≤ ${ADDED_TARGET_MS} ms`,
          ok: addedKnown <= ADDED_TARGET_MS,
          note: 'template, tenant prefix and cache lookup',
        });

        // 200 services, each deployed twice within the TTL (60 s by default), through one function.
        const many = createHookHandler('AfterAllowTestTraffic', {
          configPath: TEMPLATE,
          log: silentLogger,
          metrics: false,
        });
        s3.reads.clear();
        for (let round = 0; round < 2; round++)
          for (let i = 0; i < SERVICES; i++) await timeToVerdict(many, serviceOf, `svc-${i}`);
        const reads = [...s3.reads.values()].map((r) => r.full + r.notModified);
        figures.push({
          name: `S3 reads per config, ${SERVICES} services × 2 deployments within one TTL`,
          value: Math.max(...reads),
          unit: 'reads',
          target: '≤ 1 per config',
          ok: reads.length === SERVICES && Math.max(...reads) <= 1,
          note: `${reads.reduce((a, b) => a + b, 0)} reads for ${reads.length} configs`,
        });
      });

      // After the TTL: one conditional read per config, answered 304 (no body, no parse).
      await withEnv({ ...env, GREENLIGHT_CONFIG_TTL_SECONDS: String(SHORT_TTL_S) }, async () => {
        const short = createHookHandler('AfterAllowTestTraffic', {
          configPath: TEMPLATE,
          log: silentLogger,
          metrics: false,
        });
        s3.reads.clear();
        for (let i = 0; i < SERVICES; i++) await timeToVerdict(short, serviceOf, `svc-${i}`);
        await new Promise((resolve) => setTimeout(resolve, SHORT_TTL_S * 1000 + 100));
        for (let i = 0; i < SERVICES; i++) await timeToVerdict(short, serviceOf, `svc-${i}`);
        const counts = [...s3.reads.values()];
        const bodies = Math.max(...counts.map((c) => c.full));
        figures.push({
          name: `full S3 reads per unchanged config across two TTLs`,
          value: bodies,
          unit: 'reads',
          target: '≤ 1 (the re-read is a 304)',
          ok: bodies <= 1 && counts.every((c) => c.notModified <= 1),
          note: `${counts.reduce((a, c) => a + c.notModified, 0)} conditional re-reads answered 304`,
        });
      });
    } finally {
      await Promise.all([
        s3.stop(),
        codedeploy.stop(),
        ssm.stop(),
        new Promise((resolve) => app.close(resolve)),
      ]);
      rmSync(dir, { recursive: true, force: true });
    }
    return figures;
  },
};
