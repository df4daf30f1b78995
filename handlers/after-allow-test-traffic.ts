import { createHookHandler } from '../hooks/hook-handler';
import { applyHookV8Settings } from '../lib/v8-settings';

applyHookV8Settings();

/** CodeDeploy ECS lifecycle hook: AfterAllowTestTraffic. */
export const handler = createHookHandler('AfterAllowTestTraffic');
