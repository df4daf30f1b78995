import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, serverlessYml } from './harness';

const CACHE = join(REPO_ROOT, 'node_modules', '.cache', 'greenlight-bench');

export interface NodeBinary {
  path: string;
  /** e.g. `v22.23.3`. */
  version: string;
  major: number;
}

/**
 * The runtime the deployed functions run: serverless.yml's `provider.runtime`, or the default of
 * the param it names (`${param:runtime}`), as `serverless package` resolves it without `--param`.
 */
export function deployedRuntime(): string {
  const doc = serverlessYml() as {
    provider?: { runtime?: unknown };
    params?: { default?: Record<string, unknown> };
  };
  const runtime = String(doc.provider?.runtime ?? '');
  const param = /^\$\{param:([\w-]+)\}$/.exec(runtime)?.[1];
  return param === undefined ? runtime : String(doc.params?.default?.[param] ?? '');
}

/** The Node.js major line the deployed functions run (nodejs22.x → 22). */
export function runtimeNodeMajor(): number {
  const runtime = deployedRuntime();
  const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  if (!major)
    throw new Error(
      `serverless.yml: provider.runtime is ${JSON.stringify(runtime)}, expected nodejs<major>.x`,
    );
  return Number(major);
}

/** The node at `path`, as it names its own version. */
export function nodeAt(path: string): NodeBinary {
  const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
  return { path, version, major: Number(/^v(\d+)\./.exec(version)?.[1]) };
}

/**
 * A node of the Lambda runtime's major line, for figures that depend on it (memory, above all):
 * this process's node when it is of that line; else the one GREENLIGHT_BENCH_NODE names; else the
 * official build npm publishes as `node-<platform>-<arch>@<major>`, fetched from the registry once
 * and kept under node_modules/.cache.
 */
export function runtimeNode(): NodeBinary {
  const major = runtimeNodeMajor();
  const given = process.env.GREENLIGHT_BENCH_NODE;
  if (given) {
    let node: NodeBinary;
    try {
      node = nodeAt(given);
    } catch (err) {
      throw new Error(
        `GREENLIGHT_BENCH_NODE=${given} does not run: ${(err as Error).message.split('\n')[0]}`,
        {
          cause: err,
        },
      );
    }
    if (node.major !== major)
      throw new Error(
        `GREENLIGHT_BENCH_NODE is node ${node.version}; the functions run Node ${major} (serverless.yml)`,
      );
    return node;
  }
  return nodeOfMajor(major);
}

/**
 * A node of the given major line: this process's node when it is of that line, else the official
 * build npm publishes as `node-<platform>-<arch>@<major>`, fetched from the registry once and kept
 * under node_modules/.cache.
 */
export function nodeOfMajor(major: number): NodeBinary {
  const current = nodeAt(process.execPath);
  if (current.major === major) return current;
  const dir = join(CACHE, `node-${major}-${process.platform}-${process.arch}`);
  const path = join(dir, 'package', 'bin', 'node');
  if (!existsSync(path)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const spec = `node-${process.platform}-${process.arch}@${major}`;
    try {
      const tarball = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', dir], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
        .trim()
        .split('\n')
        .pop()!;
      execFileSync('tar', ['-xzf', join(dir, tarball), '-C', dir, 'package/bin/node']);
      rmSync(join(dir, tarball));
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `could not fetch Node ${major} (npm pack ${spec}): ${(err as Error).message.split('\n')[0]}; ` +
          `set GREENLIGHT_BENCH_NODE to a Node ${major} binary`,
        { cause: err },
      );
    }
  }
  return nodeAt(path);
}
