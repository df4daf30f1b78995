import { createEcsHookHandler } from '../hooks/ecs-hook-handler';
import { applyHookV8Settings } from '../lib/v8-settings';

applyHookV8Settings();

/** Amazon ECS built-in blue/green lifecycle hook: answers `hookStatus` for any configured stage. */
export const handler = createEcsHookHandler();
