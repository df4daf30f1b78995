import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const GOLDEN_DIR = join(__dirname, '..', 'golden');

/**
 * Compares `actual` with `test/golden/<name>`. `UPDATE_GOLDEN=1 npx jest test/cli` rewrites the
 * files; review the diff like any other change of wording.
 */
export function expectGolden(name: string, actual: string): void {
  const file = join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    if (process.env.UPDATE_GOLDEN !== '1')
      throw new Error(`golden file ${name} did not exist; it was written: review it and re-run`);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}
