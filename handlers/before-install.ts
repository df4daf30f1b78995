import { createHookHandler } from '../lib/hook-handler';

/** CodeDeploy ECS lifecycle hook: BeforeInstall. */
export const handler = createHookHandler('BeforeInstall');
