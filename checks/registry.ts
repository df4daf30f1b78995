import type { CheckType } from './check-type';
import { schemaCheckType } from './schema';
import { alarmsCheckType } from './alarms';
import { metricsCheckType } from './metrics';
import { targetGroupsCheckType } from './target-groups';
import { sessionCheckType } from './session';
import { httpCheckType } from './http';

/**
 * The check types a config may name. To add one: write `checks/<type>.ts` exporting a
 * `defineCheckType(...)`, and list it here.
 */
export const builtinCheckTypes: readonly CheckType[] = [httpCheckType, schemaCheckType, sessionCheckType, alarmsCheckType, metricsCheckType, targetGroupsCheckType];
