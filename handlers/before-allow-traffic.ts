import { createHookHandler } from '../hooks/hook-handler';
import { applyHookV8Settings } from '../lib/v8-settings';

applyHookV8Settings();

/** CodeDeploy ECS lifecycle hook: BeforeAllowTraffic. */
export const handler = createHookHandler('BeforeAllowTraffic');
