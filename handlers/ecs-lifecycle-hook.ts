import { createEcsHookHandler } from '../lib/ecs-hook-handler';
import { keepWasmBaseline } from '../lib/wasm-tiering';

keepWasmBaseline();

/** Amazon ECS built-in blue/green lifecycle hook: answers `hookStatus` for any configured stage. */
export const handler = createEcsHookHandler();
