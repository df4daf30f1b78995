import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../bench/harness';

/** The repository's root, from the source or from its compiled copy in dist/ (the benchmarks). */
export const REPO = REPO_ROOT;
const SERVERLESS = join(REPO, 'node_modules', 'osls', 'bin', 'serverless.js');
const PROJECT_FILES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'deploy',
  'handlers',
  'lib',
  'checks',
  'config',
  'hooks',
];

/**
 * A copy of the project in a temp directory (node_modules linked), so a packaging run never
 * touches the working tree that others are editing, with `greenlight.yml` as given.
 */
export function projectCopy(greenlightYml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-pkg-'));
  for (const entry of PROJECT_FILES) cpSync(join(REPO, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'greenlight.yml'), greenlightYml);
  return dir;
}

export interface ServerlessRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `serverless <args>` in `cwd` with no AWS credentials or profile in reach but what `extraEnv` gives. */
export function serverless(
  cwd: string,
  args: string[],
  timeoutMs: number,
  extraEnv: Record<string, string> = {},
): Promise<ServerlessRun> {
  const env: NodeJS.ProcessEnv = {
    ...extraEnv,
    PATH: process.env.PATH,
    HOME: cwd,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    AWS_SDK_LOAD_CONFIG: '0',
    AWS_CONFIG_FILE: join(cwd, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(cwd, 'no-aws-credentials'),
    CI: '1',
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SERVERLESS, ...args],
      { cwd, env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}
