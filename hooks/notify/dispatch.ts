import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { redactText } from '../../lib/redact';
import { withinDeadline } from '../../lib/within-deadline';
import type { Channel } from './channel';
import { deliveryMetricLines, type DeliveryResult } from './delivery-metrics';
import type { GreenlightEvent } from './greenlight-event';

export interface DispatchOptions {
  /** Epoch milliseconds: every delivery has ended (sent, failed or abandoned) by then. */
  deadline: number;
  log: Logger;
  /** Where delivery metrics go (EMF lines): stdout by default; `false` writes none. */
  metrics?: ((line: string) => void) | false;
}

/**
 * Sends the event to every channel whose `on` lists its trigger, all at once, and returns when
 * each has answered or the deadline has passed, whichever is first: a destination that hangs is
 * abandoned at the deadline. Never throws; each failure is logged (redacted) and counted.
 */
export async function dispatch(
  event: GreenlightEvent,
  channels: readonly Channel[],
  options: DispatchOptions,
): Promise<DeliveryResult[]> {
  const chosen = channels.filter((channel) => channel.on.includes(event.trigger));
  if (chosen.length === 0) return [];
  const budgetMs = Math.max(0, options.deadline - Date.now());
  const stop = new AbortController();
  const timer = setTimeout(
    () => stop.abort(new Error(`no answer within the ${budgetMs} ms notifications may take`)),
    budgetMs,
  );
  const results = await Promise.all(
    chosen.map(async (channel): Promise<DeliveryResult> => {
      const started = performance.now();
      const done = (outcome: DeliveryResult['outcome'], reason?: string): DeliveryResult => ({
        channel: channel.label,
        type: channel.type,
        outcome,
        ...(reason !== undefined ? { reason: redactText(reason) } : {}),
        durationMs: Math.round(performance.now() - started),
      });
      try {
        await withinDeadline(channel.send(event, stop.signal), { signal: stop.signal });
        return done('sent');
      } catch (err) {
        return done('failed', errorMessage(err));
      }
    }),
  );
  clearTimeout(timer);

  for (const result of results) {
    if (result.outcome === 'sent') {
      options.log.info('notification sent', {
        channel: result.channel,
        trigger: event.trigger,
        durationMs: result.durationMs,
      });
    } else {
      options.log.warn('notification not delivered', {
        channel: result.channel,
        trigger: event.trigger,
        reason: result.reason,
        durationMs: result.durationMs,
      });
    }
  }
  if (options.metrics !== false) {
    const out = options.metrics ?? ((line: string) => process.stdout.write(`${line}\n`));
    const context = {
      service: event.service,
      trigger: event.trigger,
      ...(event.deployment.id ? { deploymentId: event.deployment.id } : {}),
    };
    try {
      for (const line of deliveryMetricLines(results, context)) out(line);
    } catch (err) {
      options.log.warn('could not write notification metrics', { reason: errorMessage(err) });
    }
  }
  return results;
}
