import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync } from 'esbuild';

// The module as the bundle carries it, run in a fresh node with the young-generation limit the
// Lambda runtime sets at 128 MB: settings applied to a running V8 must change what V8 does.
const settings = transformSync(readFileSync(join(__dirname, '..', '..', 'lib', 'v8-settings.ts'), 'utf8'), {
  loader: 'ts',
  format: 'cjs',
}).code;

/** Keeps 300,000 young objects alive and answers the young generation's size before and after. */
function youngGeneration(apply: boolean): { before: number; after: number } {
  const script = `
    const module = { exports: {} }; const exports = module.exports;
    ${settings}
    if (${apply}) module.exports.applyHookV8Settings();
    const v8 = require('node:v8');
    const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const before = size();
    const kept = [];
    for (let i = 0; i < 300000; i++) kept.push({ i, text: 'x' + i });
    process.stdout.write(JSON.stringify({ before, after: size(), kept: kept.length }));`;
  const stdout = execFileSync(process.execPath, ['--max-semi-space-size=6', '-e', script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(stdout) as { before: number; after: number };
}

describe('V8 settings of the hooks', () => {
  it('keep the young generation from growing under allocation that survives', () => {
    const untouched = youngGeneration(false);
    const applied = youngGeneration(true);
    // Without the settings V8 doubles the young generation up to the runtime's limit; with them
    // it stays within one step of where it started, so it is collected (and Buffers freed) often.
    expect(untouched.after).toBeGreaterThanOrEqual(4 * untouched.before);
    expect(applied.after).toBeLessThanOrEqual(2 * applied.before);
  });

  it('are accepted by this V8 without a word on stderr', () => {
    const run = spawnSync(
      process.execPath,
      [
        '-e',
        `const module = { exports: {} }; const exports = module.exports; ${settings}; module.exports.applyHookV8Settings();`,
      ],
      { encoding: 'utf8' },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
  });
});
