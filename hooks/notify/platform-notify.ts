import { parse } from 'yaml';
import { notifySchema, type NotifySettings } from '../../config/notify-schema';
import { envResolver, interpolate, type Resolver } from '../../config/interpolate';
import { formatIssue, issueMessages } from '../../lib/config-issues';
import { ConfigError, errorMessage } from '../../lib/errors';
import { PLATFORM_NOTIFY_VARIABLE } from './platform-variable';

const cache = new Map<string, Promise<NotifySettings>>();

/**
 * The platform defaults from `GREENLIGHT_NOTIFY`, `${...}` references resolved, validated once
 * per container (a failed read is tried again next time). Undefined when the variable is unset;
 * a ConfigError naming the variable and the field when it is invalid.
 */
export function platformNotify(
  env: NodeJS.ProcessEnv,
  resolvers: Readonly<Record<string, Resolver>> = {},
): Promise<NotifySettings> | undefined {
  const text = env[PLATFORM_NOTIFY_VARIABLE]?.trim();
  if (!text) return undefined;
  let pending = cache.get(text);
  if (!pending) {
    pending = parsePlatformNotify(text, env, resolvers);
    cache.set(text, pending);
    pending.catch(() => cache.delete(text));
  }
  return pending;
}

async function parsePlatformNotify(
  text: string,
  env: NodeJS.ProcessEnv,
  resolvers: Readonly<Record<string, Resolver>>,
): Promise<NotifySettings> {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError(
      `${PLATFORM_NOTIFY_VARIABLE}: invalid JSON or YAML: ${errorMessage(err).split('\n')[0]}`,
    );
  }
  const resolved = await interpolate(doc, { env: envResolver(env), ...resolvers }, ['notify']).catch(
    (err) => {
      throw new ConfigError(`${PLATFORM_NOTIFY_VARIABLE}: ${errorMessage(err)}`, { cause: err });
    },
  );
  const parsed = notifySchema.safeParse(resolved, { reportInput: true, error: issueMessages });
  if (!parsed.success) {
    const first = parsed.error.issues.map((issue) =>
      formatIssue({ ...issue, path: ['notify', ...issue.path] }),
    )[0];
    throw new ConfigError(`${PLATFORM_NOTIFY_VARIABLE}: ${first}`, { cause: parsed.error });
  }
  return parsed.data;
}
