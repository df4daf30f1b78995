import type { CheckType } from '../checks/check-type';
import type { LoadedConfig } from './config';
import { describeConfigLocation, type ConfigLocation } from './config-location';
import { awsConfigReader, type ConfigReader } from './config-reader';
import type { Resolver } from './interpolate';
import { parseTenantConfig } from './tenant-config';
import type { TenantRules } from './tenant-rules';

export const DEFAULT_CONFIG_TTL_SECONDS = 60;
/** Configs kept per container; the oldest is dropped first. */
const MAX_ENTRIES = 1_000;

export type RemoteLocation = Exclude<ConfigLocation, { kind: 'file' }>;

export interface RemoteConfigOptions {
  /** How long a read config is used without asking S3 or SSM whether it changed. */
  ttlMs?: number;
  reader?: ConfigReader;
  checkTypes?: readonly CheckType[];
  /** `${secretsmanager:...}` and `${ssm:...}` resolvers. */
  resolvers: Readonly<Record<'secretsmanager' | 'ssm', Resolver>>;
  now?: () => number;
}

interface Entry {
  revision: string;
  config: LoadedConfig;
  checkedAt: number;
}

/**
 * Configs read from S3 or SSM, one per location and tenant, kept per container. Within the TTL a
 * config costs no call; after it, one conditional read (S3 `If-None-Match` on the ETag, SSM the
 * parameter version) either confirms it or brings the new text, which is then parsed, checked
 * against the tenant rules and built. A read or a config that fails is not kept: the next
 * invocation asks again. The caller bounds each load by its own budget through `signal`.
 */
export class RemoteConfigCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<LoadedConfig>>();
  private readonly reader: ConfigReader;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: RemoteConfigOptions) {
    this.reader = options.reader ?? awsConfigReader();
    this.ttlMs = options.ttlMs ?? DEFAULT_CONFIG_TTL_SECONDS * 1000;
    this.now = options.now ?? Date.now;
  }

  /** The config at `location` for the tenant `rules` describe (no rules: none enforced). */
  load(location: RemoteLocation, rules: TenantRules | undefined, signal: AbortSignal): Promise<LoadedConfig> {
    const source = describeConfigLocation(location);
    const key = `${source}\n${rules?.prefix ?? ''}`;
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.checkedAt < this.ttlMs) return Promise.resolve(entry.config);
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const work = (async () => {
      const read = await this.reader.read(location, entry?.revision, signal);
      if (read === 'unchanged' && entry) {
        entry.checkedAt = this.now();
        return entry.config;
      }
      if (read === 'unchanged') throw new Error(`${source}: the reader answered "unchanged" to a first read`);
      this.entries.delete(key);
      const config = await this.build(read.text, source, rules);
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { revision: read.revision, config, checkedAt: this.now() });
      return config;
    })();
    this.pending.set(key, work);
    const forget = () => this.pending.delete(key);
    work.then(forget, forget);
    return work;
  }

  private build(text: string, source: string, rules: TenantRules | undefined): Promise<LoadedConfig> {
    return parseTenantConfig(text, {
      source,
      rules,
      resolvers: this.options.resolvers,
      ...(this.options.checkTypes ? { checkTypes: this.options.checkTypes } : {}),
    });
  }
}
