import type { NotifySettings } from '../../config/notify-schema';
import type { Resolver } from '../../config/interpolate';
import { errorMessage } from '../../lib/errors';
import type { Logger } from '../../lib/log';
import { withinDeadline } from '../../lib/within-deadline';
import { awsSecretResolvers } from '../hook-config';
import type { DeliveryResult } from './delivery-metrics';
import { dispatch } from './dispatch';
import type { GreenlightEvent } from './greenlight-event';
import { mergedChannels, type NotifyClients } from './notify-channels';
import { platformNotify } from './platform-notify';

export interface SendOptions {
  /** The service's `notify:` section (`config.notify`), if it has one. */
  settings?: NotifySettings | undefined;
  /** The platform's defaults, when its own settings hold them; else `GREENLIGHT_NOTIFY` is read. */
  platform?: NotifySettings | undefined;
  /** Epoch milliseconds: nothing is waited for past it (the notify timeout may end it sooner). */
  deadline: number;
  log: Logger;
  /** Where delivery metrics go (EMF lines): stdout by default; `false` writes none. */
  metrics?: ((line: string) => void) | false | undefined;
  /** Default: the process environment (`GREENLIGHT_NOTIFY`, `AWS_REGION`, ...). */
  env?: NodeJS.ProcessEnv;
  /** `${provider:...}` resolvers for the platform defaults (default: `secretsmanager` and `ssm`). */
  resolvers?: Readonly<Record<string, Resolver>> | undefined;
  clients?: NotifyClients;
}

/**
 * Sends one event through the platform's and the service's channels and returns how each
 * delivery went. Never throws and never waits past the deadline: an invalid platform default is
 * logged and left out, a failed delivery is logged and counted.
 */
export async function sendEvent(event: GreenlightEvent, options: SendOptions): Promise<DeliveryResult[]> {
  const platform = options.platform ?? (await platformDefaults(options));
  try {
    const { channels, timeoutMs } = mergedChannels([platform, options.settings], options.clients);
    return await dispatch(event, channels, {
      deadline: Math.min(options.deadline, Date.now() + timeoutMs),
      log: options.log,
      ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    });
  } catch (err) {
    options.log.error('notifications could not be sent', { reason: errorMessage(err) });
    return [];
  }
}

/** `GREENLIGHT_NOTIFY`, or nothing when it is unset or unusable (logged: the service's channels still get theirs). */
async function platformDefaults(options: SendOptions): Promise<NotifySettings | undefined> {
  try {
    const pending = platformNotify(options.env ?? process.env, options.resolvers ?? awsSecretResolvers);
    return pending && (await withinDeadline(pending, { timeoutMs: options.deadline - Date.now() }));
  } catch (err) {
    const reason = errorMessage(err);
    options.log.error(
      'the platform notification defaults are unusable; only the service’s channels are sent to',
      { reason },
    );
    return undefined;
  }
}
