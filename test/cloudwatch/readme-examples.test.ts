import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alarmsCheckType } from '../../checks/alarms';
import { metricsCheckType } from '../../checks/metrics';
import { targetGroupsCheckType } from '../../checks/target-groups';
import { parseConfig } from '../../config/config';
import type { EmfDocument } from '../../hooks/result-metrics';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const start = readme.indexOf('### alarms, metrics, target-groups: CloudWatch');
// The section runs to the next top-level heading.
const section = readme.slice(start, readme.indexOf('\n## ', start));
const blocks = (lang: string) =>
  [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

describe('the README section on the CloudWatch checks', () => {
  it.each(blocks('yaml').map((yaml, i) => [i + 1, yaml]))(
    'has a YAML example %d that loads as a valid config',
    async (_, yaml) => {
      const loaded = await parseConfig(`targets: { test: "http://127.0.0.1:8080" }\n${yaml}`, {
        checkTypes: [alarmsCheckType, metricsCheckType, targetGroupsCheckType],
      });
      expect(Object.keys(loaded.config.checks).length).toBeGreaterThan(0);
    },
  );

  it('shows an EMF example with every metric it declares', () => {
    const [json] = blocks('json');
    const doc = JSON.parse(json!) as EmfDocument;
    for (const metric of doc._aws.CloudWatchMetrics[0]!.Metrics)
      expect(typeof doc[metric.Name]).toBe('number');
    for (const dimension of doc._aws.CloudWatchMetrics[0]!.Dimensions[0]!)
      expect(typeof doc[dimension]).toBe('string');
  });
});
