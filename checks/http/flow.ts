import { setMaxListeners } from 'node:events';
import { redactText, secretNames } from '../../lib/redact';
import type { Outcome } from '../types';
import { worstOutcome } from '../verdict';
import { HttpClient } from './client';
import { CookieJar } from './cookie-jar';
import type { ExpectContext } from './expect';
import { compileJsonSchema } from './json-schema';
import type { FlowOptions, FlowResult, StepContext, StepResult } from './flow-types';
import { formatMs } from './format-ms';
import { clientOptionsSchema, type RequestStep } from './step';
import { executeStep } from './step-attempts';

/**
 * Runs HTTP request steps against the targets, in order (or `concurrency` at once), with one
 * cookie jar, captures usable as `${name}` in later steps, and retries that tell transient
 * failures (refused or reset connections, timeouts, 408/429/502/503/504, honouring
 * Retry-After) from deterministic ones (other answers, assertion mismatches: no retry unless
 * `retry.onMismatch`). Every wait fits inside `deadline` and stops on `signal`. Never throws for
 * a network or server problem: it ends in an outcome with the reason.
 */
export async function runFlow(steps: readonly RequestStep[], options: FlowOptions): Promise<FlowResult> {
  const started = performance.now();
  const client = options.client ?? clientOptionsSchema.parse({});
  const http = options.http ?? new HttpClient();
  const jar = options.jar ?? new CookieJar();
  const variables: Record<string, string> = { ...options.variables };
  const secretHeaders = secretNames(client.secretHeaders);
  const expectCtx: ExpectContext = { secretHeaders, schema: compileJsonSchema };
  const results: StepResult[] = [];
  let insecure = false;
  const relay = new AbortController();
  setMaxListeners(0, relay.signal);
  const onAbort = () => relay.abort(options.signal.reason);
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener('abort', onAbort, { once: true });

  const stepContext: StepContext = {
    options,
    signal: relay.signal,
    client,
    http,
    jar,
    variables,
    secretHeaders,
    expectCtx,
    readiness: undefined,
    urls: new Map(),
  };
  const runStep = (index: number): Promise<StepResult> => {
    const step = steps[index]!;
    if (step.tls?.insecure ?? client.tls?.insecure) insecure = true;
    const sc =
      index === 0 && options.readiness ? { ...stepContext, readiness: options.readiness } : stepContext;
    return executeStep(step, index, sc);
  };

  let skipped = 0;
  try {
    const concurrency = Math.max(1, options.concurrency ?? 1);
    if (concurrency === 1) {
      for (let i = 0; i < steps.length; i++) {
        const result = await runStep(i);
        results.push(result);
        if (result.outcome !== 'passed') {
          skipped = steps.length - i - 1;
          break;
        }
      }
    } else {
      const slots: StepResult[] = new Array(steps.length);
      let next = 0;
      if (options.readiness) {
        // Wait until ready before sending the rest at once.
        slots[0] = await runStep(0);
        next = 1;
        if (slots[0].outcome !== 'passed') {
          skipped = steps.length - 1;
          next = steps.length;
        }
      }
      const worker = async () => {
        while (next < steps.length) {
          const i = next++;
          slots[i] = await runStep(i);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, steps.length) }, worker));
      results.push(...slots.filter(Boolean));
    }
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    if (!options.http) await http.close();
  }

  const outcome = steps.length === 0 ? 'inconclusive' : worstOutcome(results.map((r) => r.outcome));
  const durationMs = Math.round(performance.now() - started);
  return {
    outcome,
    message: redactText(flowMessage(results, outcome, skipped, durationMs)),
    assertions: results.flatMap((r) => r.assertions),
    steps: results,
    skipped,
    variables,
    insecure,
    durationMs,
  };
}

function flowMessage(results: StepResult[], outcome: Outcome, skipped: number, durationMs: number): string {
  if (results.length === 0) return 'no requests configured';
  if (outcome === 'passed') {
    return results.length === 1
      ? results[0]!.message
      : `${results.length} requests passed in ${formatMs(durationMs)} (last: ${results[results.length - 1]!.message})`;
  }
  const culprit = results.find((r) => r.outcome === outcome)!;
  const others = results.filter((r) => r !== culprit && r.outcome !== 'passed').length;
  const notes = [
    ...(results.length + skipped > 1 ? [`request ${culprit.index + 1} of ${results.length + skipped}`] : []),
    ...(others ? [`+${others} more not passed`] : []),
    ...(skipped ? [`${skipped} later request${skipped === 1 ? '' : 's'} not sent`] : []),
  ];
  return notes.length ? `${culprit.message}; ${notes.join(', ')}` : culprit.message;
}
