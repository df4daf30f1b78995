import { createHookHandler } from '../lib/hook-handler';
import { keepWasmBaseline } from '../lib/wasm-tiering';

keepWasmBaseline();

/** CodeDeploy ECS lifecycle hook: AfterAllowTestTraffic. */
export const handler = createHookHandler('AfterAllowTestTraffic');
