import type { CheckType } from './check-type';

/**
 * The check types a config may name. To add one: write `checks/<type>.ts` exporting a
 * `defineCheckType(...)`, and list it here.
 */
export const builtinCheckTypes: readonly CheckType[] = [];
