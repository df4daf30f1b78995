import type { CheckType } from './check-type';
import { httpCheckType } from './http';
import { schemaCheckType } from './schema';
import { sessionCheckType } from './session';
import { alarmsCheckType } from './alarms';
import { metricsCheckType } from './metrics';
import { targetGroupsCheckType } from './target-groups';
import { approvalCheckType } from './approval';
import { migrationRehearsalCheckType } from './migration-rehearsal';

/**
 * The check types a config may name. To add one: make `checks/<type>/index.ts` export a
 * `defineCheckType(...)`, and list it here (one import line per type: the bundler reads them).
 */
export const builtinCheckTypes: readonly CheckType[] = [
  httpCheckType,
  schemaCheckType,
  sessionCheckType,
  alarmsCheckType,
  metricsCheckType,
  targetGroupsCheckType,
  approvalCheckType,
  migrationRehearsalCheckType,
];

/**
 * Built-in check types left out of this build. A hook bundle carries only the types that the
 * packaged greenlight.yml runs at the hook's own lifecycle events (deploy/esbuild-plugins.js writes
 * this list there). The loader sets aside checks of these types; planning one for the hook's event
 * means the config is not the one packaged, and the hook says so instead of calling the type unknown.
 */
export const omittedCheckTypes: readonly string[] = [];

/**
 * Why a type is left out of every bundle of this kind of stack, when it is not a matter of the
 * packaged config (a platform stack's bundles carry no migration-rehearsal), by type.
 */
export const omittedCheckTypeReasons: Readonly<Record<string, string>> = {};
