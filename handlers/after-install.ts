import { createHookHandler } from '../hooks/hook-handler';
import { applyHookV8Settings } from '../lib/v8-settings';

applyHookV8Settings();

/** CodeDeploy ECS lifecycle hook: AfterInstall. */
export const handler = createHookHandler('AfterInstall');
