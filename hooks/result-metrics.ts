import type { StandardUnit } from '@aws-sdk/client-cloudwatch';
import type { Verdict } from '../checks/runner';
import type { CheckResult, Outcome } from '../checks/types';
import { redactText } from '../lib/redact';

/** The CloudWatch namespace greenlight's own metrics go to unless told otherwise. */
export const RESULT_METRICS_NAMESPACE = 'Greenlight';

/** Which deployment the figures belong to; `service` and `lifecycleEvent` become dimensions. */
export interface ResultMetricDimensions {
  /** The ECS service (or application) being deployed. */
  service: string;
  lifecycleEvent: string;
}

export interface ResultMetricsOptions {
  namespace?: string;
  /** Kept as a property (not a dimension: ids are unbounded). */
  deploymentId?: string;
  /** Epoch milliseconds; default now. */
  timestamp?: number;
}

/** One metric as emitted: the same names and units in EMF and PutMetricData. */
interface Figure {
  name: string;
  value: number;
  unit: StandardUnit;
}

/** One EMF document, as CloudWatch Logs reads it (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html). */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [member: string]: unknown;
}

const CHECK_OUTCOME_METRICS: Record<Outcome, string> = {
  passed: 'CheckPassed',
  failed: 'CheckFailed',
  error: 'CheckError',
  inconclusive: 'CheckInconclusive',
};

function verdictFigures(verdict: Verdict): Figure[] {
  return [
    { name: 'VerdictSucceeded', value: verdict.status === 'Succeeded' ? 1 : 0, unit: 'Count' },
    { name: 'VerdictFailed', value: verdict.status === 'Failed' ? 1 : 0, unit: 'Count' },
    { name: 'VerdictDurationMs', value: verdict.durationMs, unit: 'Milliseconds' },
  ];
}

function checkFigures(result: CheckResult): Figure[] {
  return [
    ...(Object.entries(CHECK_OUTCOME_METRICS) as Array<[Outcome, string]>).map(([outcome, name]) => ({
      name,
      value: result.outcome === outcome ? 1 : 0,
      unit: 'Count' as StandardUnit,
    })),
    { name: 'CheckDurationMs', value: result.durationMs, unit: 'Milliseconds' },
  ];
}

function document(
  namespace: string,
  timestamp: number,
  dimensions: Record<string, string>,
  figures: Figure[],
  properties: Record<string, unknown>,
): EmfDocument {
  const doc: EmfDocument = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: figures.map((f) => ({ Name: f.name, Unit: f.unit })),
        },
      ],
    },
  };
  for (const [key, value] of Object.entries(properties)) if (value !== undefined) doc[key] = value;
  // Dimension values come from config names and the environment: the same policy keeps secrets out.
  for (const [key, value] of Object.entries(dimensions)) doc[key] = redactText(value);
  for (const f of figures) doc[f.name] = f.value;
  return doc;
}

/**
 * The EMF documents for one verdict: one with dimensions [service, lifecycleEvent] carrying
 * VerdictSucceeded, VerdictFailed (0 or 1) and VerdictDurationMs, then one per check with
 * dimensions [service, lifecycleEvent, check] carrying CheckPassed, CheckFailed, CheckError,
 * CheckInconclusive (0 or 1) and CheckDurationMs.
 */
export function verdictMetricDocuments(
  verdict: Verdict,
  dimensions: ResultMetricDimensions,
  options: ResultMetricsOptions = {},
): EmfDocument[] {
  const namespace = options.namespace ?? RESULT_METRICS_NAMESPACE;
  const timestamp = options.timestamp ?? Date.now();
  const base = { service: dimensions.service, lifecycleEvent: dimensions.lifecycleEvent };
  const deploymentId = options.deploymentId;
  return [
    document(namespace, timestamp, base, verdictFigures(verdict), {
      deploymentId,
      status: verdict.status,
      outcome: verdict.outcome,
      checks: verdict.checks.length,
    }),
    ...verdict.checks.map((result) =>
      document(namespace, timestamp, { ...base, check: result.name }, checkFigures(result), {
        deploymentId,
        checkType: result.type,
        outcome: result.outcome,
        advisory: result.advisory,
        ...(result.cancelled ? { cancelled: true } : {}),
      }),
    ),
  ];
}

/**
 * Writes the verdict and every check result as CloudWatch metrics in the embedded metric format:
 * one JSON document per line on stdout, which CloudWatch Logs turns into metrics with no API
 * call. A hook handler calls it once per invocation, after the verdict and before reporting.
 */
export function emitVerdictMetrics(
  verdict: Verdict,
  dimensions: ResultMetricDimensions,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  options: ResultMetricsOptions = {},
): void {
  for (const doc of verdictMetricDocuments(verdict, dimensions, options)) out(JSON.stringify(doc));
}
