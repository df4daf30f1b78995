import { randomUUID } from 'node:crypto';
import type { Verdict } from '../../checks/runner';
import type { Assertion, CheckResult } from '../../checks/types';
import type { NotifyTrigger } from '../../config/notify-schema';
import { redact, redactText } from '../../lib/redact';
import { deploymentLinks, type DeploymentLinks } from './console-links';

/** The version of the event's shape (greenlight-event.schema.json); a breaking change raises it. */
export const EVENT_SCHEMA_VERSION = 1;
export type EventStatus = 'Succeeded' | 'Failed' | 'Pending';
/** What an event is about: a verdict, or a manual approval waiting for an answer. */
export type GreenlightEventKind = 'verdict' | 'approval-requested';

const MAX_REASON_CHARS = 500;
const MAX_MESSAGE_CHARS = 300;
const MAX_VALUE_CHARS = 200;
/** Keeps the event well under SNS's and EventBridge's 256 KB and a Slack message's limits. */
const MAX_CHECKS = 50;

/** The deployment an event belongs to, as far as the hook knows it. */
export interface EventDeployment {
  /** `codedeploy` for the lifecycle-event hooks, `ecs` for the ECS built-in hook. */
  platform: 'codedeploy' | 'ecs';
  /** The CodeDeploy deployment id, or the ECS hook's execution id. */
  id?: string;
  /** The lifecycle event (CodeDeploy) or stage (ECS). */
  lifecycleEvent: string;
  lifecycleEventHookExecutionId?: string;
  application?: string;
  deploymentGroup?: string;
  /** ECS: the service deployment (or service) the hook was invoked for. */
  resourceArn?: string;
  cluster?: string;
  service?: string;
}

/** One check's outcome as a notification shows it: the first failing assertion, not all evidence. */
export interface EventCheck {
  name: string;
  type: string;
  outcome: CheckResult['outcome'];
  advisory: boolean;
  message: string;
  durationMs: number;
  firstFailingAssertion?: { what: string; expected: string; actual: string };
}

/**
 * What every channel sends: the body of the webhook, the SNS message, the EventBridge `detail`
 * (JSON Schema in greenlight-event.schema.json). Everything in it has been through redaction.
 */
export interface GreenlightEvent {
  schemaVersion: typeof EVENT_SCHEMA_VERSION;
  /** Unique per event: receivers use it to drop a repeated delivery. */
  id: string;
  kind: GreenlightEventKind;
  /** Which `on:` entry the event answers to. */
  trigger: NotifyTrigger;
  /**
   * What the hook answered: `Succeeded` or `Failed` (a skipped or rolled-back deployment is let
   * through); `Pending` while nothing is decided (an approval request).
   */
  status: EventStatus;
  /** One line saying why. */
  reason: string;
  /** The ECS service or application the hook guards (`GREENLIGHT_SERVICE`, else the function's service name). */
  service: string;
  deployment: EventDeployment;
  /** The checks that ran, in configured order (empty when none ran). */
  checks: EventCheck[];
  /** Checks left out to keep the event small. */
  checksOmitted?: number;
  /** Set when the deployment was let through without checks (break-glass). */
  skipped?: { reason: string };
  /** Set when the ECS hook recognised a rollback. */
  rollback?: string;
  links: DeploymentLinks;
  /** Anything else the sender adds (an approval's command, say): strings, numbers, booleans. */
  details?: Record<string, string | number | boolean>;
  /** ISO 8601. */
  time: string;
}

/** What a hook knows when it has decided: the base of a verdict event. */
export interface VerdictNotice {
  status: 'Succeeded' | 'Failed';
  reason: string;
  deployment: EventDeployment;
  verdict?: Verdict;
  /** The deployment passed without running checks (break-glass): the trigger is `skipped`. */
  skipped?: { reason: string };
  /** A rollback was recognised (ECS hook): the trigger is `rollback`. */
  rollback?: string;
}

function clip(text: string, max: number): string {
  const one = redactText(text).replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(redact(value)) ?? String(value));
  return clip(text, MAX_VALUE_CHARS);
}

function firstFailing(assertions: readonly Assertion[]): EventCheck['firstFailingAssertion'] {
  const failing = assertions.find((a) => !a.ok);
  if (!failing) return undefined;
  return {
    what: clip(failing.what, MAX_VALUE_CHARS),
    expected: shown(failing.expected),
    actual: shown(failing.actual),
  };
}

function eventCheck(result: CheckResult): EventCheck {
  const check: EventCheck = {
    name: result.name,
    type: result.type,
    outcome: result.outcome,
    advisory: result.advisory,
    message: clip(result.message, MAX_MESSAGE_CHARS),
    durationMs: Math.round(result.durationMs),
  };
  const failing = firstFailing(result.assertions);
  if (failing) check.firstFailingAssertion = failing;
  return check;
}

/** The trigger of a verdict: a rollback or a skip first, else the status. */
export function verdictTrigger(
  notice: Pick<VerdictNotice, 'status' | 'skipped' | 'rollback'>,
): NotifyTrigger {
  if (notice.rollback) return 'rollback';
  if (notice.skipped) return 'skipped';
  return notice.status === 'Succeeded' ? 'succeeded' : 'failed';
}

/** The ECS service (or application) a hook guards, as the result metrics name it. */
export function serviceName(env: NodeJS.ProcessEnv = process.env): string {
  return env.GREENLIGHT_SERVICE || env.POWERTOOLS_SERVICE_NAME || 'greenlight';
}

export interface EventInput {
  kind: GreenlightEventKind;
  trigger: NotifyTrigger;
  status: EventStatus;
  reason: string;
  deployment: EventDeployment;
  checks?: readonly CheckResult[];
  skipped?: { reason: string };
  rollback?: string;
  details?: Record<string, string | number | boolean>;
}

/**
 * Builds an event of any kind, with its id, time, service and console links filled in and every
 * text redacted and clipped. A manual approval builds its `approval-requested` event here too.
 */
export function greenlightEvent(
  input: EventInput,
  options: { env?: NodeJS.ProcessEnv; now?: Date } = {},
): GreenlightEvent {
  const env = options.env ?? process.env;
  const results = input.checks ?? [];
  const deployment = redact({ ...input.deployment });
  const event: GreenlightEvent = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    id: randomUUID(),
    kind: input.kind,
    trigger: input.trigger,
    status: input.status,
    reason: clip(input.reason, MAX_REASON_CHARS),
    service: clip(serviceName(env), MAX_VALUE_CHARS),
    deployment,
    checks: results.slice(0, MAX_CHECKS).map(eventCheck),
    links: deploymentLinks(deployment, env),
    time: (options.now ?? new Date()).toISOString(),
  };
  if (results.length > MAX_CHECKS) event.checksOmitted = results.length - MAX_CHECKS;
  if (input.skipped) event.skipped = { reason: clip(input.skipped.reason, MAX_REASON_CHARS) };
  if (input.rollback) event.rollback = clip(input.rollback, MAX_REASON_CHARS);
  if (input.details) {
    event.details = Object.fromEntries(
      Object.entries(redact(input.details)).map(([key, value]) => [
        key,
        typeof value === 'string' ? clip(value, MAX_REASON_CHARS) : value,
      ]),
    );
  }
  return event;
}

/** The event for a hook's final answer. */
export function verdictEvent(notice: VerdictNotice, options: { env?: NodeJS.ProcessEnv; now?: Date } = {}) {
  return greenlightEvent(
    {
      kind: 'verdict',
      trigger: verdictTrigger(notice),
      status: notice.status,
      reason: notice.reason,
      deployment: notice.deployment,
      checks: notice.verdict?.checks ?? [],
      ...(notice.skipped ? { skipped: notice.skipped } : {}),
      ...(notice.rollback ? { rollback: notice.rollback } : {}),
    },
    options,
  );
}
