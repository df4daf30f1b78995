import { createHookHandler } from '../lib/hook-handler';

/** CodeDeploy ECS lifecycle hook: BeforeAllowTraffic. */
export const handler = createHookHandler('BeforeAllowTraffic');
