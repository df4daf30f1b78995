import { createHookHandler } from '../lib/hook-handler';

/** CodeDeploy ECS lifecycle hook: AfterAllowTestTraffic. */
export const handler = createHookHandler('AfterAllowTestTraffic');
