import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { nodeOfMajor, type NodeBinary } from '../../bench/runtime-node';
import { projectCopy, REPO, serverless } from '../deploy/serverless-support';

// The artifact suite's kit: package the stack as `npm run package` does, unzip a function into a
// task root outside the project, and invoke it the way the Lambda Node.js runtime does
// (test/artifact/lambda-runtime.mjs), on the runtime's Node line, with nothing of the project's
// node_modules in reach but what the runtime itself provides. The benchmarks use it too, compiled
// into dist/, so it finds its files from the repository's root rather than from __dirname.

const RUNTIME_BOOTSTRAP = join(REPO, 'test', 'artifact', 'lambda-runtime.mjs');
/** The AWS SDK v3 clients greenlight uses: the stand-in for the ones the Lambda runtime ships. */
const RUNTIME_SDK_CLIENTS = [
  '@aws-sdk/client-cloudwatch',
  '@aws-sdk/client-codedeploy',
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/client-ecs',
  '@aws-sdk/client-elastic-load-balancing-v2',
  '@aws-sdk/client-eventbridge',
  '@aws-sdk/client-lambda',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-sns',
  '@aws-sdk/client-ssm',
];

/** One function of the packaged template, as CloudFormation would create it. */
export interface PackagedFunction {
  /** The serverless function key, e.g. `afterAllowTestTraffic`. */
  key: string;
  name: string;
  handler: string;
  runtime: string;
  timeoutS: number;
  memoryMb: number;
  environment: Record<string, string>;
  zip: string;
}

export interface PackagedStack {
  dir: string;
  out: string;
  functions: Map<string, PackagedFunction>;
  template: { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };
  remove(): void;
}

/** `serverless package` of the project with `greenlightYml`, offline, as `npm run package` does. */
export async function packageStack(greenlightYml: string, params: string[] = []): Promise<PackagedStack> {
  const dir = projectCopy(greenlightYml);
  const out = join(dir, 'out');
  const run = await serverless(
    dir,
    ['package', '--stage', 'art', ...params.map((p) => `--param=${p}`), '--package', out],
    240_000,
  );
  if (run.code !== 0)
    throw new Error(`serverless package failed (${run.code}):\n${run.stdout}\n${run.stderr}`);
  const template = JSON.parse(
    readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as PackagedStack['template'];
  const functions = new Map<string, PackagedFunction>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const p = resource.Properties as {
      FunctionName: string;
      Handler: string;
      Runtime: string;
      Timeout: number;
      MemorySize: number;
      Environment?: { Variables?: Record<string, unknown> };
      Code: { S3Key: string };
    };
    const key = logicalId.replace(/LambdaFunction$/, '').replace(/^./, (c) => c.toLowerCase());
    const environment = Object.fromEntries(
      Object.entries(p.Environment?.Variables ?? {}).map(([k, v]) => {
        if (typeof v !== 'string') throw new Error(`${logicalId}: environment ${k} is not a plain string`);
        return [k, v];
      }),
    );
    functions.set(key, {
      key,
      name: p.FunctionName,
      handler: p.Handler,
      runtime: p.Runtime,
      timeoutS: p.Timeout,
      memoryMb: p.MemorySize,
      environment,
      zip: join(out, p.Code.S3Key.split('/').pop()!),
    });
  }
  return { dir, out, functions, template, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

let lambdaNodeCache: { node: NodeBinary; note?: string } | undefined;

/**
 * The Node of the runtime's line (nodejs22.x → 22): npm's official build, fetched once. When it
 * cannot be had, this machine's node stands in, and the suite says so.
 */
export function lambdaNode(runtime: string): { node: NodeBinary; note?: string } {
  const major = Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]);
  if (!major) throw new Error(`unknown Lambda runtime ${runtime}`);
  if (lambdaNodeCache?.node.major === major) return lambdaNodeCache;
  try {
    lambdaNodeCache = { node: nodeOfMajor(major) };
  } catch (err) {
    const fallback = nodeOfMajor(Number(process.versions.node.split('.')[0]));
    lambdaNodeCache = {
      node: fallback,
      note: `the artifact suite runs on this machine's Node ${fallback.version}, not Node ${major} (${(err as Error).message})`,
    };
    process.stderr.write(`NOTE: ${lambdaNodeCache.note}\n`);
  }
  return lambdaNodeCache;
}

let runtimeModulesDir: string | undefined;

/**
 * The stand-in for the runtime's own modules (`/var/runtime/node_modules`): the AWS SDK v3 clients
 * and everything they depend on, copied out of the project into a folder of their own.
 */
export function runtimeModules(): string {
  if (runtimeModulesDir) return runtimeModulesDir;
  const root = mkdtempSync(join(tmpdir(), 'lambda-runtime-'));
  const modules = join(root, 'node_modules');
  const seen = new Set<string>();
  const queue = [...RUNTIME_SDK_CLIENTS];
  while (queue.length) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const from = join(REPO, 'node_modules', name);
    if (!existsSync(from)) throw new Error(`${name} is not installed`);
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    cpSync(from, join(modules, name), { recursive: true, dereference: true });
    const pkg = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    for (const dep of Object.keys(pkg.dependencies ?? {})) {
      // A dependency nested under the package came along with it.
      if (!existsSync(join(from, 'node_modules', dep))) queue.push(dep);
    }
  }
  runtimeModulesDir = modules;
  return modules;
}

/** Unzips a function into a fresh task root outside the project tree, as Lambda does into /var/task. */
export function unpack(fn: PackagedFunction): string {
  const taskRoot = mkdtempSync(join(tmpdir(), `task-${fn.key}-`));
  execFileSync('unzip', ['-q', fn.zip, '-d', taskRoot]);
  return taskRoot;
}

/** What one invocation came to, as the runtime reports it. */
export type InvocationRecord =
  | { result: unknown }
  | { error: { errorType: string; errorMessage: string } }
  | { timeout: true }
  | { initError: { errorType: string; errorMessage: string } };

export interface InvokeResult {
  records: InvocationRecord[];
  /** How long the handler's module took to resolve and load; undefined when it did not load. */
  initDurationMs: number | undefined;
  /** The function's log lines, stdout and stderr (Powertools JSON and EMF documents), parsed where they are JSON. */
  logs: Record<string, unknown>[];
  stdout: string;
  stderr: string;
  node: NodeBinary;
}

export interface InvokeOptions {
  /** Environment beyond the function's own (endpoints, the test's settings). */
  env?: Record<string, string>;
  /** Overrides the function's timeout (seconds). */
  timeoutS?: number;
  /** A task root prepared already (e.g. to change a file before the cold start). */
  taskRoot?: string;
  /** `runtime`: the AWS SDK comes from the stand-in for the runtime's own modules. */
  sdk?: 'bundled' | 'runtime';
}

/**
 * Invokes an unzipped function with `events`, one after another in one warm process, the way the
 * Lambda runtime does: the handler string resolved under the task root (.js, .mjs, .cjs), the
 * function's environment from the template, the working directory the task root, NODE_PATH the
 * runtime's modules (an empty folder when the zip must bring its SDK) and the task root.
 */
export async function invoke(
  fn: PackagedFunction,
  events: unknown[],
  options: InvokeOptions = {},
): Promise<InvokeResult> {
  const taskRoot = options.taskRoot ?? unpack(fn);
  const scratch = mkdtempSync(join(tmpdir(), 'lambda-invoke-'));
  const eventsFile = join(scratch, 'events.json');
  const resultsFile = join(scratch, 'results.jsonl');
  writeFileSync(eventsFile, JSON.stringify(events));
  const runtimeDir = options.sdk === 'runtime' ? runtimeModules() : join(scratch, 'runtime', 'node_modules');
  mkdirSync(runtimeDir, { recursive: true });
  const timeoutS = options.timeoutS ?? fn.timeoutS;
  const { node } = lambdaNode(fn.runtime);
  const semiSpaceMb = Math.floor(fn.memoryMb / 10 / 2);
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: scratch,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    LAMBDA_TASK_ROOT: taskRoot,
    LAMBDA_RUNTIME_DIR: dirname(runtimeDir),
    NODE_PATH: `${runtimeDir}:${taskRoot}`,
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_REGION: 'eu-west-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_SESSION_TOKEN: 'testing',
    ...fn.environment,
    ...options.env,
    GREENLIGHT_ARTIFACT_TIMEOUT_S: String(timeoutS),
    GREENLIGHT_ARTIFACT_EVENTS: eventsFile,
    GREENLIGHT_ARTIFACT_RESULTS: resultsFile,
  };
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      node.path,
      [
        // The V8 limits the runtime sets for the function's memory size.
        `--max-semi-space-size=${semiSpaceMb}`,
        `--max-old-space-size=${fn.memoryMb - semiSpaceMb * 2}`,
        RUNTIME_BOOTSTRAP,
      ],
      {
        cwd: taskRoot,
        env,
        timeout: (timeoutS * events.length + 30) * 1000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, out, err) => {
        if (error && error.killed)
          reject(new Error(`${fn.key} did not finish (the bootstrap was killed):\n${out}\n${err}`));
        else resolve({ stdout: String(out), stderr: String(err) });
      },
    );
  });
  const lines = existsSync(resultsFile)
    ? readFileSync(resultsFile, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as InvocationRecord | { initDurationMs: number })
    : [];
  const init = lines.find((line) => 'initDurationMs' in line) as { initDurationMs: number } | undefined;
  const records = lines.filter((line): line is InvocationRecord => !('initDurationMs' in line));
  rmSync(scratch, { recursive: true, force: true });
  if (!options.taskRoot) rmSync(taskRoot, { recursive: true, force: true });
  // Powertools writes WARN and ERROR lines to stderr, the rest to stdout; Lambda keeps both.
  const logs = `${stdout}\n${stderr}`
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { unparsed: line };
      }
    });
  return { records, initDurationMs: init?.initDurationMs, logs, stdout, stderr, node };
}

/** The `verdict` log lines of an invocation: status and reason as the hook logged them. */
export function verdicts(result: InvokeResult): { status: string; reason: string }[] {
  return result.logs
    .filter((line) => line.message === 'verdict')
    .map((line) => ({ status: String(line.status), reason: String(line.reason) }));
}
