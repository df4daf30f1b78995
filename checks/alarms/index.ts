import { z } from 'zod';
import type { CodeDeploySender } from '../../lib/codedeploy-client';
import { defineCheckType } from '../check-type';
import { defaultCloudWatchClient, failureMessage, type CloudWatchProvider } from '../cloudwatch/client';
import { deploymentStartTime } from '../cloudwatch/deployment-start';
import type { Assertion, CheckContext, CheckReport, Outcome } from '../types';
import { notPassed, worstOutcome } from '../verdict';
import { alarmsByName, describeAll, type AlarmState } from './describe-alarms';
import { alarmsPreflight } from './preflight';

const MAX_REASON_CHARS = 300;

const alarmName = z.string().min(1).max(255, { error: 'expected an alarm name of at most 255 characters' });

const POLICY = ['inconclusive', 'pass', 'fail'] as const;

/** Seams for tests and callers that already hold clients. */
export interface AlarmsDependencies {
  cloudWatch?: CloudWatchProvider;
  codeDeploy?: () => CodeDeploySender;
}

/**
 * The alarm gate: alarms by name and/or prefix (metric and composite) must not be in ALARM.
 * Unlike CodeDeploy's own alarm stop, a configured name that does not exist is an error rather
 * than silently checking nothing, INSUFFICIENT_DATA follows a stated policy, and an alarm that
 * was already firing before the deployment can be reported instead of blocking.
 */
export function alarmsCheckTypeWith(deps: AlarmsDependencies = {}) {
  return defineCheckType({
    type: 'alarms',
    summary: 'CloudWatch alarms (by name or prefix, metric and composite) must not be in ALARM.',
    options: z.strictObject({
      names: z.array(alarmName).optional().describe('Alarm names; each must exist (typo protection).'),
      prefixes: z
        .array(z.string().min(1).max(255))
        .optional()
        .describe('Alarm name prefixes; each must match at least one alarm.'),
      insufficientData: z
        .enum(POLICY)
        .default('inconclusive')
        .describe(
          'What an alarm in INSUFFICIENT_DATA makes the check: inconclusive (default), pass or fail.',
        ),
      preExisting: z
        .enum(['block', 'report'])
        .default('block')
        .describe(
          'block (default): any alarm in ALARM fails the check. report: an alarm in ALARM since before the deployment started is reported but does not block (needs codedeploy:GetDeployment).',
        ),
    }),
    preflight: (options, ctx) => alarmsPreflight(options, ctx, deps.cloudWatch ?? defaultCloudWatchClient),
    create(options, factory) {
      const names = options.names ?? [];
      const prefixes = options.prefixes ?? [];
      if (names.length === 0 && prefixes.length === 0) {
        throw factory.fail('names', 'expected at least one alarm name (names) or name prefix (prefixes)');
      }
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      if (dup !== undefined) throw factory.fail('names', `alarm "${dup}" is listed twice`);
      return {
        name: factory.name,
        type: 'alarms',
        run: (ctx) =>
          judgeAlarms(
            { names, prefixes, insufficientData: options.insufficientData, preExisting: options.preExisting },
            ctx,
            deps,
          ),
      };
    },
  });
}

/** The `alarms` check type, with the default AWS clients. */
export const alarmsCheckType = alarmsCheckTypeWith();

interface AlarmsOptions {
  names: string[];
  prefixes: string[];
  insufficientData: (typeof POLICY)[number];
  preExisting: 'block' | 'report';
}

async function judgeAlarms(
  options: AlarmsOptions,
  ctx: CheckContext,
  deps: AlarmsDependencies,
): Promise<CheckReport> {
  const found = new Map<string, AlarmState>();
  const emptyPrefixes: string[] = [];
  try {
    const client = await (deps.cloudWatch ?? defaultCloudWatchClient)();
    for (const alarm of (await alarmsByName(client, options.names, () => ctx)).found.values())
      found.set(alarm.name, alarm);
    for (const prefix of options.prefixes) {
      const alarms = await describeAll(client, { AlarmNamePrefix: prefix }, ctx);
      if (alarms.length === 0) emptyPrefixes.push(prefix);
      for (const alarm of alarms) found.set(alarm.name, alarm);
    }
  } catch (err) {
    return {
      outcome: 'error',
      message: failureMessage(err),
      details: { names: options.names, prefixes: options.prefixes },
    };
  }

  const missing = options.names.filter((n) => !found.has(n));
  const alarms = [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
  const firing = alarms.filter((a) => a.state === 'ALARM');
  const noData = alarms.filter((a) => a.state === 'INSUFFICIENT_DATA');

  const findings: Array<{ outcome: Outcome; text: string }> = [];
  const notes: string[] = [];
  let startTime: Date | undefined;

  if (firing.length > 0 && options.preExisting === 'report') {
    const deploymentId = ctx.deployment.deploymentId;
    if (!deploymentId) {
      notes.push(
        'preExisting: report could not be applied: no deployment id (not run from a CodeDeploy hook), so every alarm in ALARM blocks',
      );
    } else {
      try {
        startTime = await deploymentStartTime(deploymentId, ctx, deps.codeDeploy?.());
        for (const alarm of firing)
          alarm.preExisting = alarm.since !== undefined && alarm.since.getTime() < startTime.getTime();
      } catch (err) {
        const why = failureMessage(err);
        findings.push({
          outcome: 'error',
          text: `could not tell whether ${describeList(firing.map((a) => a.name))} in ALARM ${firing.length === 1 ? 'predates' : 'predate'} deployment ${deploymentId}: ${why}`,
        });
      }
    }
  }

  const blocking = firing.filter((a) => !a.preExisting);
  const preExisting = firing.filter((a) => a.preExisting);
  if (blocking.length > 0 && !findings.some((f) => f.outcome === 'error')) {
    const head = blocking.length === 1 ? 'alarm' : `${blocking.length} of ${alarms.length} alarms in ALARM:`;
    const body = blocking.map((a) =>
      blocking.length === 1
        ? `${a.name} is in ALARM${sinceText(a)}: ${shortReason(a)}`
        : `${a.name} (${shortReason(a)})`,
    );
    findings.push({ outcome: 'failed', text: `${head} ${body.join('; ')}` });
  }
  for (const name of missing) {
    findings.push({
      outcome: 'error',
      text: `alarm "${name}" does not exist (DescribeAlarms found no metric or composite alarm by that name; check the spelling and the region)`,
    });
  }
  for (const prefix of emptyPrefixes) {
    findings.push({
      outcome: 'error',
      text: `no alarm name starts with "${prefix}" (prefixes entry matched nothing)`,
    });
  }
  if (noData.length > 0) {
    const text = `${describeList(noData.map((a) => a.name))} in INSUFFICIENT_DATA (insufficientData: ${options.insufficientData}): ${shortReason(noData[0]!)}`;
    const outcome: Outcome =
      options.insufficientData === 'pass'
        ? 'passed'
        : options.insufficientData === 'fail'
          ? 'failed'
          : 'inconclusive';
    if (outcome === 'passed') notes.push(text);
    else findings.push({ outcome, text });
  }
  if (preExisting.length > 0) {
    notes.push(
      `${describeList(preExisting.map((a) => `${a.name}${sinceText(a)}`))} already in ALARM before the deployment started at ${iso(startTime!)}: reported as pre-existing, not blocking`,
    );
  }

  const outcome = worstOutcome(findings.map((f) => f.outcome));
  const ordered = notPassed(findings);
  let message: string;
  if (outcome === 'passed') {
    const ok = alarms.filter((a) => a.state === 'OK').length;
    message = `${alarms.length} alarm${alarms.length === 1 ? '' : 's'} checked (${scope(options)}): ${ok} OK`;
  } else {
    message = ordered.map((f) => f.text).join('; also ');
  }
  if (notes.length) message += `; ${notes.join('; ')}`;

  // Named alarms and every alarm not OK are listed one by one; OK alarms found only by prefix
  // are counted, so a prefix over hundreds of alarms keeps the log line short.
  const named = new Set(options.names);
  const listed = alarms.filter((a) => named.has(a.name) || a.state !== 'OK');
  const okByPrefix = alarms.length - listed.length;
  const assertions: Assertion[] = [
    ...listed.map((a) => ({
      what: `alarm ${a.name}`,
      expected: 'OK',
      actual: a.preExisting ? `${a.state} (pre-existing)` : a.state,
      ok:
        a.state === 'OK' ||
        a.preExisting === true ||
        (a.state === 'INSUFFICIENT_DATA' && options.insufficientData === 'pass'),
    })),
    ...(okByPrefix
      ? [{ what: 'other alarms matched by prefix', expected: 'OK', actual: `${okByPrefix} OK`, ok: true }]
      : []),
    ...missing.map((name) => ({ what: `alarm ${name}`, expected: 'exists', actual: 'missing', ok: false })),
    ...emptyPrefixes.map((prefix) => ({
      what: `alarms with prefix ${prefix}`,
      expected: 'at least 1',
      actual: 0,
      ok: false,
    })),
  ];
  const details: Record<string, unknown> = {
    checked: alarms.length,
    notOk: alarms
      .filter((a) => a.state !== 'OK')
      .map((a) => ({
        name: a.name,
        type: a.type,
        state: a.state,
        reason: a.reason,
        since: a.since && iso(a.since),
        ...(a.preExisting ? { preExisting: true } : {}),
      })),
  };
  if (missing.length) details.missing = missing;
  if (startTime) details.deploymentStartTime = iso(startTime);
  return { outcome, message, assertions, details };
}

function iso(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

function sinceText(alarm: AlarmState): string {
  return alarm.since ? ` since ${iso(alarm.since)}` : '';
}

function shortReason(alarm: AlarmState): string {
  const reason = alarm.reason.replace(/\s+/g, ' ').trim() || 'no reason given';
  return reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS - 1)}…` : reason;
}

function describeList(items: string[]): string {
  if (items.length === 1) return `alarm ${items[0]}`;
  const shown = items.slice(0, 5).join(', ');
  return `${items.length} alarms (${shown}${items.length > 5 ? ', ...' : ''})`;
}

function scope(options: AlarmsOptions): string {
  const parts: string[] = [];
  if (options.names.length) parts.push(`${options.names.length} by name`);
  if (options.prefixes.length)
    parts.push(`prefix${options.prefixes.length === 1 ? '' : 'es'} ${options.prefixes.join(', ')}`);
  return parts.join(', ');
}
