import type { SSMClient } from '@aws-sdk/client-ssm';
import { awsClientConfig, awsErrorName } from '../lib/aws';
import { errorMessage } from '../lib/errors';
import type { Logger } from '../lib/log';
import { RESULT_METRICS_NAMESPACE } from './result-metrics';

// Break-glass: one named deployment passes one or all of its hooks without running checks. The
// switch is an SSM parameter under its own prefix, named after the deployment, holding a JSON
// record with an expiry. The hooks' role may only read that prefix; setting it takes
// ssm:PutParameter there, a permission of its own (`greenlight break-glass` writes it).

export const DEFAULT_BREAK_GLASS_PREFIX = '/greenlight-break-glass/';
/** The longest a break-glass may stay valid: it is for one urgent deployment, not a standing exemption. */
export const MAX_BREAK_GLASS_SECONDS = 24 * 60 * 60;
/** The read is small; a slow SSM must not eat the checks' budget. */
const READ_TIMEOUT_MS = 3_000;
/** Every hook of the deployment. */
export const ALL_HOOKS = '*';

/** What the parameter holds. */
export interface BreakGlassRecord {
  /** The deployment it was set for: a CodeDeploy id, or `ecs/CLUSTER/SERVICE/ID` for a service deployment. */
  deployment: string;
  /** Lifecycle events or ECS stages it lets through, or `["*"]` for all. */
  hooks: string[];
  /** ISO 8601; after it, the checks run again. */
  expiresAt: string;
  reason: string;
  setBy?: string;
  setAt?: string;
}

/** A verdict that passed without checks: what the hook logs and reports, and what notifications read. */
export interface SkippedVerdict {
  by: 'break-glass';
  /** The one-line verdict reason. */
  reason: string;
  parameter: string;
  record: BreakGlassRecord;
}

/**
 * The break-glass key of an ECS service deployment ARN
 * (`arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID`), undefined for anything
 * else: only a service deployment names one deployment.
 */
export function ecsBreakGlassKey(resourceArn: string | undefined): string | undefined {
  const match = resourceArn && /:service-deployment\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(resourceArn);
  return match ? `ecs/${match[1]}/${match[2]}/${match[3]}` : undefined;
}

/** The parameter name for a deployment: `/greenlight-break-glass/d-ABC123`. */
export function breakGlassParameterName(prefix: string, deployment: string): string {
  const base = prefix.startsWith('/') ? prefix : `/${prefix}`;
  return `${base.endsWith('/') ? base : `${base}/`}${deployment}`;
}

/** Parses and checks a record; throws an Error saying what is wrong. */
export function parseBreakGlassRecord(text: string): BreakGlassRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('the value is not JSON');
  }
  const r = value as Partial<BreakGlassRecord> | null;
  if (!r || typeof r !== 'object') throw new Error('the value is not a JSON object');
  if (typeof r.deployment !== 'string' || !r.deployment) throw new Error('"deployment" is missing');
  if (!Array.isArray(r.hooks) || r.hooks.length === 0 || r.hooks.some((h) => typeof h !== 'string'))
    throw new Error('"hooks" must be a non-empty list of lifecycle events, or ["*"]');
  if (typeof r.expiresAt !== 'string' || Number.isNaN(Date.parse(r.expiresAt)))
    throw new Error('"expiresAt" must be an ISO 8601 time');
  if (typeof r.reason !== 'string' || !r.reason.trim()) throw new Error('"reason" is missing');
  return r as BreakGlassRecord;
}

export interface BreakGlassLookup {
  /** The deployment key (CodeDeploy id, or {@link ecsBreakGlassKey}). */
  deployment: string;
  /** The lifecycle event or ECS stage being decided. */
  hook: string;
  log: Logger;
  /** Never longer than this (and never more than 3 s). */
  budgetMs: number;
  env?: NodeJS.ProcessEnv;
  ssm?: Pick<SSMClient, 'send'>;
  now?: () => number;
}

let defaultSsm: Promise<Pick<SSMClient, 'send'>> | undefined;

/**
 * The skipped verdict when a valid, unexpired break-glass names this deployment and hook, else
 * undefined (the checks run). Only when `GREENLIGHT_BREAK_GLASS_PREFIX` is set. It never throws:
 * a missing, malformed, expired or unreadable switch means the checks run, and says why in the log.
 */
export async function findBreakGlass(lookup: BreakGlassLookup): Promise<SkippedVerdict | undefined> {
  const env = lookup.env ?? process.env;
  const prefix = env.GREENLIGHT_BREAK_GLASS_PREFIX;
  if (!prefix) return undefined;
  const parameter = breakGlassParameterName(prefix, lookup.deployment);
  const log = lookup.log.child({ breakGlassParameter: parameter });
  let text: string | undefined;
  try {
    const { GetParameterCommand, SSMClient } = await import('@aws-sdk/client-ssm');
    const ssm = lookup.ssm ?? (await (defaultSsm ??= Promise.resolve(new SSMClient(awsClientConfig()))));
    const out = await ssm.send(new GetParameterCommand({ Name: parameter }), {
      abortSignal: AbortSignal.timeout(Math.max(1, Math.min(READ_TIMEOUT_MS, lookup.budgetMs))),
    });
    text = out.Parameter?.Value;
  } catch (err) {
    if (awsErrorName(err) === 'ParameterNotFound') return undefined;
    log.warn('could not read the break-glass switch; running the checks', {
      reason: `${awsErrorName(err) ?? 'error'}: ${errorMessage(err)}`,
    });
    return undefined;
  }
  let record: BreakGlassRecord;
  try {
    record = parseBreakGlassRecord(text ?? '');
  } catch (err) {
    log.warn('the break-glass switch is malformed; running the checks', { reason: errorMessage(err) });
    return undefined;
  }
  if (record.deployment !== lookup.deployment) {
    log.warn('the break-glass switch names another deployment; running the checks', {
      names: record.deployment,
    });
    return undefined;
  }
  const now = (lookup.now ?? Date.now)();
  if (Date.parse(record.expiresAt) <= now) {
    log.info('the break-glass switch has expired; running the checks', { expiresAt: record.expiresAt });
    return undefined;
  }
  if (!record.hooks.includes(ALL_HOOKS) && !record.hooks.includes(lookup.hook)) return undefined;
  const reason = `skipped by break-glass ${parameter}${record.setBy ? ` (set by ${record.setBy})` : ''}, valid until ${record.expiresAt}: ${record.reason}`;
  log.warn('break-glass: passing this hook without running its checks', {
    setBy: record.setBy,
    expiresAt: record.expiresAt,
    hooks: record.hooks,
    breakGlassReason: record.reason,
  });
  return { by: 'break-glass', reason, parameter, record };
}

/**
 * The `VerdictSkipped` metric (namespace Greenlight, dimensions service and lifecycleEvent) as one
 * embedded-metric-format line, beside the verdict metrics hooks/result-metrics.ts writes.
 */
export function emitSkippedMetric(
  dimensions: { service: string; lifecycleEvent: string },
  deploymentId: string,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  timestamp = Date.now(),
): void {
  out(
    JSON.stringify({
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: RESULT_METRICS_NAMESPACE,
            Dimensions: [['service', 'lifecycleEvent']],
            Metrics: [{ Name: 'VerdictSkipped', Unit: 'Count' }],
          },
        ],
      },
      service: dimensions.service,
      lifecycleEvent: dimensions.lifecycleEvent,
      deploymentId,
      status: 'Succeeded',
      skippedBy: 'break-glass',
      VerdictSkipped: 1,
    }),
  );
}
