import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { RehearsalResult } from '../../rehearsal/rehearsal';

const run = promisify(execFile);

/**
 * Bundles the rehearsal driver with esbuild (dependencies stay in node_modules) and runs the
 * scenarios in one real Node process, sharing one embedded PostgreSQL, as `greenlight rehearse` does.
 */
export async function runRehearsals(
  jobs: Array<{ scenario: string; configPath?: string; minuteMs?: number }>,
): Promise<Array<RehearsalResult | { error: string }>> {
  const { build } = await import('esbuild');
  const root = join(__dirname, '..', '..');
  // Inside the project (and git-ignored), so the bundle finds node_modules and the sample config.
  mkdirSync(join(root, '.greenlight-tmp'), { recursive: true });
  const dir = mkdtempSync(join(root, '.greenlight-tmp', 'rehearsal-driver-'));
  try {
    const outfile = join(dir, 'driver.js');
    await build({
      entryPoints: [join(__dirname, 'driver.ts')],
      bundle: true,
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outfile,
      logLevel: 'silent',
    });
    const { stdout } = await run(process.execPath, [outfile, JSON.stringify(jobs)], {
      cwd: root,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const last = stdout.trim().split('\n').at(-1) ?? '[]';
    return JSON.parse(last) as Array<RehearsalResult | { error: string }>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
