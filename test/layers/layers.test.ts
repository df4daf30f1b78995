import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const REPO = join(__dirname, '..', '..');
const CRUISER = join(REPO, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(REPO, '.dependency-cruiser.js');
/** The folders `npm run layers` (part of `npm run lint`) checks: every shipped layer, and the benchmarks. */
const { layers } = (
  JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: { layers: string } }
).scripts;
const TREE = layers.replace(/^depcruise --config \S+ /, '').split(' ');

interface Violation {
  type: string;
  from: string;
  to: string;
  rule: { name: string };
}

/** Runs the cruiser as `npm run layers` does, in `cwd`, and returns what it found. */
async function cruise(cwd: string, folders: string[]): Promise<{ modules: number; violations: Violation[] }> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [CRUISER, '--config', CONFIG, '--output-type', 'json', ...folders],
    { cwd, maxBuffer: 64 * 1024 * 1024 },
  );
  const result = JSON.parse(stdout) as { summary: { totalCruised: number; violations: Violation[] } };
  return { modules: result.summary.totalCruised, violations: result.summary.violations };
}

describe('the layer rules (.dependency-cruiser.js)', () => {
  it('report an upward import from lib/ and a cycle in a tree that has both', async () => {
    const { violations } = await cruise(join(__dirname, 'fixture'), ['lib', 'checks', 'hooks']);

    const found = violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    expect(found).toEqual([
      'lib-imports-only-below: lib/clock.ts → hooks/handler.ts',
      expect.stringMatching(/^no-cycles: checks\/p[io]ng\.ts → checks\/p[io]ng\.ts$/),
    ]);
  }, 60_000);

  it('find nothing wrong in the real tree', async () => {
    const { modules, violations } = await cruise(REPO, TREE);

    expect(TREE).toEqual(
      expect.arrayContaining(['lib', 'checks', 'config', 'hooks', 'handlers', 'bin', 'rehearsal']),
    );
    expect(modules).toBeGreaterThan(100);
    expect(violations).toEqual([]);
  }, 60_000);
});
