import { z } from 'zod';
import {
  REDACTED,
  redact,
  redactText,
  registerSecret,
  isSecretField,
  secretNames,
  type SecretNames,
} from '../../lib/redact';
import { defineCheckType } from '../check-type';
import type { Assertion, CheckReport, Outcome } from '../types';
import { worstOutcome } from '../verdict';
import { CookieJar } from './cookie-jar';
import { HttpClient } from './client';
import { diffResponses, parsePathPattern, pathIgnorer } from './diff';
import { compileJsonSchema } from './json-schema';
import { clip } from './parsed-body';
import { runFlow } from './flow';
import type { FlowOptions, FlowResult } from './flow-types';
import { formatMs } from './format-ms';
import { flowVariableProblems } from './variables';
import { DEFAULT_RETRY_BUDGET, RetryTally, retryAllowance, sleep, type RetryBudget } from './retry';
import { clientOptionFields, requestStepSchema } from './step';

const MAX_DIFFERENCES = 20; // per request; the rest are counted

const diffSchema = z.strictObject({
  baseline: z.string().default('prod').describe('Target that answers as blue (the production listener).'),
  candidate: z.string().default('test').describe('Target that answers as green (the test listener).'),
  status: z.boolean().default(true).describe('Compare status codes.'),
  headers: z.array(z.string()).default([]).describe('Response headers to compare, e.g. content-type.'),
  body: z.boolean().default(true).describe('Compare bodies: JSON field by field, anything else as text.'),
  ignore: z
    .array(
      z.string().superRefine((pattern, ctx) => {
        try {
          parsePathPattern(pattern);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message, input: pattern });
        }
      }),
    )
    .default([])
    .describe('JSON paths whose values may differ: `version`, `meta.generatedAt`, `items[*].updatedAt`.'),
});

const httpOptions = z.strictObject({
  target: z
    .string()
    .optional()
    .describe('Target of requests that name none (default `test`, the test listener).'),
  requests: z
    .array(requestStepSchema)
    .min(1)
    .describe('Requests sent in order, sharing cookies and captures.'),
  concurrency: z
    .int()
    .min(1)
    .max(256)
    .default(1)
    .describe('Requests at once. Above 1 the requests are independent: no captures between them.'),
  readiness: z
    .strictObject({
      budgetMs: z.int().min(1).max(900_000).describe('How long to poll the first request until it passes.'),
      intervalMs: z.int().min(10).max(60_000).default(500),
    })
    .optional()
    .describe('Wait for a starting endpoint: poll the first request until it passes, within a budget.'),
  consecutiveSuccesses: z
    .int()
    .min(1)
    .max(100)
    .default(1)
    .describe('Runs of all requests that must pass in a row.'),
  successIntervalMs: z.int().min(0).max(60_000).default(1_000).describe('Pause between those runs.'),
  retryBudget: z
    .strictObject({
      percent: z
        .number()
        .min(0)
        .max(100)
        .default(DEFAULT_RETRY_BUDGET.percent)
        .describe('Share of the check’s requests that may need a retry, in percent.'),
      minRetried: z
        .int()
        .min(0)
        .max(1_000)
        .default(DEFAULT_RETRY_BUDGET.minRetried)
        .describe('Requests that may need a retry whatever the share, so one blip in a short check passes.'),
    })
    .prefault({})
    .describe(
      'Fail when more requests needed a retry than this allows, even if each passed on its retry. Readiness polls do not count.',
    ),
  diff: diffSchema.optional().describe('Send every request to blue and green and report each difference.'),
  ...clientOptionFields,
});

export type HttpCheckOptions = z.output<typeof httpOptions>;

/**
 * `http`: smoke tests against the test listener. Requests with assertions, captures and a
 * cookie jar; retries for transient failures inside the hook deadline; an optional readiness
 * wait; and a blue/green diff of the same requests.
 */
export const httpCheckType = defineCheckType({
  type: 'http',
  summary:
    'Smoke-test green on the test listener: requests, assertions, captures, retries, and a blue/green diff.',
  options: httpOptions,
  create(options, ctx) {
    const targets = new Set(ctx.targets);
    const needTarget = (name: string, path: string) => {
      if (!targets.has(name))
        throw ctx.fail(path, `unknown target "${name}"; defined targets: ${[...targets].join(', ')}`);
    };
    if (options.target !== undefined) needTarget(options.target, 'target');
    options.requests.forEach((step, i) => {
      if (step.target !== undefined) needTarget(step.target, `requests[${i}].target`);
      if (step.expect?.schema) {
        try {
          compileJsonSchema(step.expect.schema);
        } catch (err) {
          throw ctx.fail(`requests[${i}].expect.schema`, `invalid JSON Schema: ${(err as Error).message}`);
        }
      }
    });
    if (options.diff) {
      needTarget(options.diff.baseline, 'diff.baseline');
      needTarget(options.diff.candidate, 'diff.candidate');
      options.requests.forEach((step, i) => {
        if (step.url !== undefined)
          throw ctx.fail(
            `requests[${i}].url`,
            'a diff sends each request to both targets: use path, not an absolute url',
          );
      });
    }
    const problems = flowVariableProblems(options.requests, [], options.concurrency > 1);
    if (problems[0]) throw ctx.fail(problems[0].path, problems[0].message);

    // Values written in the config for secret headers are known now: redact them from the start.
    const secretHeaders = secretNames(options.secretHeaders);
    const registerStatic = (headers: Record<string, string> | undefined) => {
      for (const [name, value] of Object.entries(headers ?? {})) {
        if (secretHeaders.has(name) && !value.includes('${')) registerSecret(value);
      }
    };
    registerStatic(options.headers);
    for (const step of options.requests) registerStatic(step.headers);

    const ignore = pathIgnorer(options.diff?.ignore ?? []);

    return {
      name: ctx.name,
      type: 'http',
      async run(runCtx): Promise<CheckReport> {
        const http = new HttpClient();
        const common: FlowOptions = {
          targets: runCtx.targets,
          signal: runCtx.signal,
          deadline: runCtx.deadline,
          client: options,
          concurrency: options.concurrency,
          http,
          log: runCtx.log.child({ check: ctx.name }),
          // Only a diff compares responses after the flow: otherwise each body goes once judged.
          keepResponses: options.diff !== undefined,
          // A body that never ends must not pass as a truncated one.
          readToEnd: true,
        };
        if (options.target !== undefined) common.target = options.target;
        try {
          const report = options.diff
            ? await runDiff(options, common, ignore, secretHeaders)
            : await runRepeated(options, common);
          return redactReport(report);
        } finally {
          await http.close();
        }
      },
    };
  },
});

async function runRepeated(options: HttpCheckOptions, common: FlowOptions): Promise<CheckReport> {
  const runs = options.consecutiveSuccesses;
  const tally = new RetryTally();
  let flow: FlowResult | undefined;
  let run = 0;
  while (run < runs) {
    if (run > 0 && options.successIntervalMs > 0 && !(await sleep(options.successIntervalMs, common.signal)))
      break;
    run++;
    const flowOptions: FlowOptions = { ...common, jar: new CookieJar() };
    if (options.readiness && run === 1) flowOptions.readiness = options.readiness;
    flow = await runFlow(options.requests, flowOptions);
    tally.add(flow.steps);
    if (flow.outcome !== 'passed') break;
  }
  const last = flow!;
  let message = last.message;
  if (runs > 1)
    message =
      last.outcome === 'passed' && run === runs
        ? `${message}; ${runs} consecutive passes`
        : `run ${run} of ${runs} in a row: ${message}`;
  if (last.insecure) message += ' (certificate verification off)';
  return withinRetryBudget(
    { outcome: last.outcome, message, assertions: last.assertions, details: detailsOf(last, { runs: run }) },
    tally,
    options.retryBudget,
  );
}

/**
 * Retries let a request through a flaky moment, and so would hide a green that fails every
 * other request. When more of the check's requests needed a retry than the budget allows, the
 * check fails, saying how many and what they saw; below it, the retries are still evidence.
 */
function withinRetryBudget(report: CheckReport, tally: RetryTally, budget: RetryBudget): CheckReport {
  if (tally.retried === 0) return report;
  const allowed = retryAllowance(budget, tally.requests);
  const ok = tally.retried <= allowed;
  const seen = tally.describeSeen();
  const requests = `${tally.requests} request${tally.requests === 1 ? '' : 's'}`;
  const assertion: Assertion = {
    what: 'retry budget',
    expected: `at most ${allowed} of ${requests} retried (${budget.percent} %, at least ${budget.minRetried})`,
    actual: `${tally.retried} retried, after ${seen}`,
    ok,
  };
  const outcome = ok ? report.outcome : worstOutcome([report.outcome, 'failed']);
  let message = report.message;
  if (!ok) {
    const reason =
      `${tally.retried} of ${requests} needed a retry (after ${seen}), more than the retry budget's ` +
      `${allowed} (${budget.percent} %, at least ${budget.minRetried}): green fails intermittently; ` +
      'fix it, or raise retryBudget.percent if that is expected';
    message = report.outcome === 'passed' ? reason : `${report.message}; also ${reason}`;
  }
  return {
    outcome,
    message,
    assertions: [...(report.assertions ?? []), assertion],
    details: {
      ...report.details,
      retries: {
        requests: tally.requests,
        retried: tally.retried,
        allowed,
        seen: Object.fromEntries(tally.seen),
      },
    },
  };
}

async function runDiff(
  options: HttpCheckOptions,
  common: FlowOptions,
  ignore: ReturnType<typeof pathIgnorer>,
  secretHeaders: SecretNames,
): Promise<CheckReport> {
  const diff = options.diff!;
  const greenOptions: FlowOptions = { ...common, overrideTarget: diff.candidate, jar: new CookieJar() };
  if (options.readiness) greenOptions.readiness = options.readiness;
  const [blue, green] = await Promise.all([
    runFlow(options.requests, { ...common, overrideTarget: diff.baseline, jar: new CookieJar() }),
    runFlow(options.requests, greenOptions),
  ]);
  const assertions: Assertion[] = [...green.assertions];
  const diffOptions = {
    status: diff.status,
    headers: diff.headers.map((h) => h.toLowerCase()),
    body: diff.body,
    ignore,
    secretHeaders,
    maxDifferences: MAX_DIFFERENCES,
  };
  let compared = 0;
  const differing: string[] = [];
  for (const greenStep of green.steps) {
    const blueStep = blue.steps[greenStep.index];
    if (!greenStep.response || !blueStep?.response) continue;
    compared++;
    const found = diffResponses(greenStep.label, blueStep.response, greenStep.response, diffOptions);
    assertions.push(...found);
    for (const f of found)
      if (!f.ok)
        differing.push(
          `${f.what.slice(greenStep.label.length + 6) || 'more'} (blue ${show(f.expected)}, green ${show(f.actual)})`,
        );
  }

  let outcome: Outcome;
  let message: string;
  const scope = `${diff.baseline} (blue) vs ${diff.candidate} (green)`;
  if (blue.outcome === 'error' && compared === 0) {
    outcome = 'error';
    message = `cannot diff ${scope}: blue did not answer: ${blue.message}`;
  } else if (differing.length) {
    outcome = 'failed';
    const more = differing.length > 3 ? ` (+${differing.length - 3} more)` : '';
    message = `${scope} differ in ${differing.slice(0, 3).join('; ')}${more}`;
  } else if (green.outcome !== 'passed') {
    outcome = green.outcome;
    message = green.message;
  } else {
    outcome = worstOutcome([green.outcome, compared ? 'passed' : 'inconclusive']);
    message = compared
      ? `${scope}: ${compared} request${compared === 1 ? '' : 's'} answered the same (${formatMs(green.durationMs)})`
      : `${scope}: nothing to compare`;
  }
  if (green.outcome !== 'passed' && outcome === 'failed' && differing.length)
    message += `; green also: ${green.message}`;
  if (blue.insecure || green.insecure) message += ' (certificate verification off)';
  // Green's retries are judged; blue is production, and its flakiness is not green's to answer for.
  const tally = new RetryTally();
  tally.add(green.steps);
  return withinRetryBudget(
    {
      outcome: worstOutcome([outcome, green.outcome === 'passed' ? 'passed' : green.outcome]),
      message: redactText(message),
      assertions,
      details: {
        ...detailsOf(green, {}),
        baseline: { outcome: blue.outcome, message: blue.message, requests: requestDetails(blue) },
      },
    },
    tally,
    options.retryBudget,
  );
}

/**
 * `redact` for a report of many requests: labels, URLs, evidence and keys recur once per
 * request, so each distinct string is redacted once (redaction scans every known secret per
 * string) and each distinct key is tested once.
 * Plain objects and arrays are walked here; anything else goes to `redact`.
 */
function redactReport(report: CheckReport): CheckReport {
  const text = remembered(redactText);
  const secretKey = remembered(isSecretField);
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(walk);
    if (Object.getPrototypeOf(value) !== Object.prototype) return redact(value);
    const out: Record<string, unknown> = {};
    for (const key in value) {
      const inner = (value as Record<string, unknown>)[key];
      out[key] =
        secretKey(key) && inner !== undefined && inner !== null && inner !== '' ? REDACTED : walk(inner);
    }
    return out;
  };
  return walk(report) as CheckReport;
}

/** `compute`, called once per distinct argument. */
function remembered<T>(compute: (key: string) => T): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    let value = seen.get(key);
    if (value === undefined) {
      value = compute(key);
      seen.set(key, value);
    }
    return value;
  };
}

function show(value: unknown): string {
  return clip(typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)), 60);
}

function requestDetails(flow: FlowResult): Array<Record<string, unknown>> {
  return flow.steps.map((s) => {
    const out: Record<string, unknown> = {
      request: s.label,
      method: s.method,
      url: s.url,
      outcome: s.outcome,
      attempts: s.attempts,
      durationMs: s.durationMs,
    };
    if (s.status !== undefined) out.status = s.status;
    if (s.truncated) {
      out.truncated = true;
      out.bytesReceived = s.bytesReceived;
    }
    if (s.redirects) out.redirects = s.redirects;
    if (s.retriedAfter) out.retriedAfter = s.retriedAfter;
    if (s.certificate) out.certificate = s.certificate;
    if (s.error) out.error = { kind: s.error.kind, ...(s.error.code ? { code: s.error.code } : {}) };
    return out;
  });
}

function detailsOf(flow: FlowResult, extra: Record<string, unknown>): Record<string, unknown> {
  const details: Record<string, unknown> = {
    requests: requestDetails(flow),
    durationMs: flow.durationMs,
    ...extra,
  };
  if (flow.skipped) details.notSent = flow.skipped;
  if (flow.insecure) details.insecure = true;
  return details;
}
