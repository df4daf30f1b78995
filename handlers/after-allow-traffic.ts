import { createHookHandler } from '../lib/hook-handler';

/** CodeDeploy ECS lifecycle hook: AfterAllowTraffic. */
export const handler = createHookHandler('AfterAllowTraffic');
