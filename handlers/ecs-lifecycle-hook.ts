import { createEcsHookHandler } from '../lib/ecs-hook-handler';

/** Amazon ECS built-in blue/green lifecycle hook: answers `hookStatus` for any configured stage. */
export const handler = createEcsHookHandler();
