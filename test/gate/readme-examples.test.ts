import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../config/config';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('## Bake windows and manual approval'),
  readme.indexOf('## Performance'),
);
const yamlBlocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('the README section on bake windows and approval', () => {
  it('has its examples', () => expect(yamlBlocks).toHaveLength(3));

  it.each(yamlBlocks.map((yaml, i) => [i + 1, yaml]))(
    'has a YAML example %d that loads as a valid config',
    async (_, yaml) => {
      const loaded = await parseConfig(`targets: { test: "http://127.0.0.1:8080" }\n${yaml}`);
      expect(Object.keys(loaded.config.checks).length).toBeGreaterThan(0);
    },
  );

  it('rejects a window on a check type that has no measurements to repeat', async () => {
    await expect(
      parseConfig(
        'targets: { test: "http://127.0.0.1:8080" }\nchecks:\n  ok: { type: approval, timeoutMinutes: 5, window: { durationMinutes: 5 } }\n',
      ),
    ).rejects.toThrow(
      'greenlight.yml: checks.ok.window: a check of type approval has no window; windows are for alarms, metrics, target-groups, http',
    );
  });
});
