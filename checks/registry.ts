import type { CheckType } from './check-type';
import { httpCheckType } from './http';
import { schemaCheckType } from './schema';
import { sessionCheckType } from './session';
import { alarmsCheckType } from './alarms';
import { metricsCheckType } from './metrics';
import { targetGroupsCheckType } from './target-groups';

/**
 * The check types a config may name. To add one: write `checks/<type>.ts` exporting a
 * `defineCheckType(...)`, and list it here (one import line per type: the bundler reads them).
 */
export const builtinCheckTypes: readonly CheckType[] = [
  httpCheckType,
  schemaCheckType,
  sessionCheckType,
  alarmsCheckType,
  metricsCheckType,
  targetGroupsCheckType,
];
