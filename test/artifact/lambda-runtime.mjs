// A stand-in for the Lambda Node.js runtime's bootstrap, for the artifact suite: it loads a
// function's handler from its unzipped package the way the nodejs22.x runtime does and invokes it
// with the events it is given, one after another in the same process (a warm container).
//
// It is run by the Node binary of the runtime's major line, with the task root as cwd, and with
// nothing on NODE_PATH but the stand-in for the runtime's own modules (its AWS SDK) and the task
// root, as in Lambda. It imports nothing but Node's built-ins, so nothing of the project's
// node_modules is in reach of the handler.
//
// Input (environment): LAMBDA_TASK_ROOT, _HANDLER, AWS_LAMBDA_FUNCTION_NAME,
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE, GREENLIGHT_ARTIFACT_TIMEOUT_S (the function's timeout),
// GREENLIGHT_ARTIFACT_EVENTS (a JSON file holding an array of events) and GREENLIGHT_ARTIFACT_RESULTS.
// Output: one line per invocation appended to the file GREENLIGHT_ARTIFACT_RESULTS, either
// `{"result": ...}`, `{"error": {"errorType", "errorMessage"}}` or `{"timeout": true}`, the way
// the runtime reports a return value, a thrown error or a function that ran out of time; an error
// while loading the module is `{"initError": ...}`. A module that loads writes a first line
// `{"initDurationMs": ...}`: the time to resolve and load the handler's module, the part of the
// runtime's Init Duration that the function's code decides.
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const taskRoot = process.env.LAMBDA_TASK_ROOT;
const handlerString = process.env._HANDLER;
const timeoutMs = Number(process.env.GREENLIGHT_ARTIFACT_TIMEOUT_S ?? '3') * 1000;
const events = JSON.parse(readFileSync(process.env.GREENLIGHT_ARTIFACT_EVENTS, 'utf8'));

const emit = (record) =>
  appendFileSync(process.env.GREENLIGHT_ARTIFACT_RESULTS, `${JSON.stringify(record)}\n`);

/** The runtime's rule: `dir/file.fn` → the first of file.js, file.mjs, file.cjs that exists. */
function resolveHandler(root, handler) {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0)
    throw Object.assign(new Error(`Bad handler ${handler}`), { name: 'Runtime.MalformedHandlerName' });
  const modulePath = resolve(root, handler.slice(0, dot));
  const name = handler.slice(dot + 1);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => modulePath + ext).find((f) => existsSync(f));
  if (!file)
    throw Object.assign(new Error(`Cannot find module '${handler.slice(0, dot)}'`), {
      name: 'Runtime.ImportModuleError',
    });
  return { file, name };
}

/** The nearest package.json's `type`, which decides how a `.js` file loads. */
function packageType(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) return JSON.parse(readFileSync(pkg, 'utf8')).type ?? 'commonjs';
    if (dir === taskRoot) break;
  }
  return 'commonjs';
}

async function loadModule(file) {
  if (file.endsWith('.mjs') || (file.endsWith('.js') && packageType(file) === 'module'))
    return import(pathToFileURL(file).href);
  return createRequire(file)(file);
}

function context(functionName) {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${functionName}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'artifact',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

const describe = (err) => ({
  errorType: err?.name ?? typeof err,
  errorMessage: err?.message ?? String(err),
});

let fn;
try {
  const initStart = performance.now();
  const { file, name } = resolveHandler(taskRoot, handlerString);
  const mod = await loadModule(file);
  const initDurationMs = performance.now() - initStart;
  fn = mod[name] ?? mod.default?.[name];
  if (typeof fn !== 'function')
    throw Object.assign(new Error(`${handlerString} is undefined or not exported`), {
      name: 'Runtime.HandlerNotFound',
    });
  emit({ initDurationMs });
} catch (err) {
  emit({ initError: describe(err) });
  process.exit(0);
}

for (const event of events) {
  let timer;
  const ranOut = new Promise((done) => {
    timer = setTimeout(() => done({ timeout: true }), timeoutMs);
  });
  const invoked = Promise.resolve()
    .then(() => fn(event, context(process.env.AWS_LAMBDA_FUNCTION_NAME)))
    .then(
      (result) => ({ result: result ?? null }),
      (err) => ({ error: describe(err) }),
    );
  const record = await Promise.race([invoked, ranOut]);
  clearTimeout(timer);
  emit(record);
  // Lambda freezes the process once a function returns or times out; a timed-out one is thrown away.
  if (record.timeout) process.exit(0);
}
process.exit(0);
