import type { Logger } from '../../lib/log';
import type { Resolver } from '../../config/interpolate';
import type { NotifySettings } from '../../config/notify-schema';
import type { Announce, GateEvent } from '../gate/announce';
import type { GateOptions } from '../gate/gated-hook';
import type { EventDeployment } from './greenlight-event';
import { sendGreenlightEvent } from './notify';

/** How long one announcement may take: an approver must hear of it, but the gate never waits long. */
const ANNOUNCE_TIMEOUT_MS = 5_000;

export interface GateAnnouncerOptions {
  settings: NotifySettings | undefined;
  deployment: EventDeployment;
  log: Logger;
  metrics?: ((line: string) => void) | false | undefined;
  resolvers?: Readonly<Record<string, Resolver>> | undefined;
}

/**
 * The gate's announcer through the notification channels: an approval request goes out as an
 * `approval-requested` event (status Pending) with the commands to approve or reject; how it was
 * decided reaches people with the hook's verdict, so it is only logged by the gate.
 */
export function gateAnnouncer(options: GateAnnouncerOptions): Announce {
  return async (event: GateEvent) => {
    if (event.kind !== 'approval-requested') return;
    const { greenlightEvent } = await import('./greenlight-event');
    await sendGreenlightEvent(
      greenlightEvent({
        kind: 'approval-requested',
        trigger: 'approval-requested',
        status: 'Pending',
        reason: event.message ?? `approval requested by check '${event.check}' before ${event.timeoutAt}`,
        deployment: options.deployment,
        details: {
          check: event.check,
          requestedAt: event.requestedAt,
          timeoutAt: event.timeoutAt,
          approve: event.approveCommand,
          reject: event.rejectCommand,
        },
      }),
      {
        settings: options.settings,
        deadline: Date.now() + ANNOUNCE_TIMEOUT_MS,
        log: options.log,
        metrics: options.metrics,
        resolvers: options.resolvers,
      },
    );
  };
}

/** A hook's gate options with its announcer: the one given, else the notification channels. */
export function withGateAnnouncer(gate: GateOptions | undefined, options: GateAnnouncerOptions): GateOptions {
  return { ...gate, announce: gate?.announce ?? gateAnnouncer(options) };
}
