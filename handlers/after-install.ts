import { createHookHandler } from '../lib/hook-handler';

/** CodeDeploy ECS lifecycle hook: AfterInstall. */
export const handler = createHookHandler('AfterInstall');
