import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bench, BenchFigure } from './harness';
import { bundleBench } from './bundle';
import { cloudWatchBench } from './cloudwatch';
import { httpBench } from './http';
import { platformBench } from './platform';
import { rehearsalBench } from './rehearsal';
import { runnerBench } from './runner';
import { schemaBench } from './schema';
import { sessionBench } from './session';
import { shadowBench } from './shadow';
import { statementsBench } from './statements';
import { verdictBench } from './verdict';
import { watchBench } from './watch';

/** Every benchmark, in the order `npm run bench` runs them. */
const benches: Bench[] = [
  runnerBench,
  httpBench,
  verdictBench,
  bundleBench,
  schemaBench,
  statementsBench,
  shadowBench,
  sessionBench,
  cloudWatchBench,
  rehearsalBench,
  watchBench,
  platformBench,
];

async function main(): Promise<void> {
  const only = new Set(process.argv.slice(2));
  const selected = only.size ? benches.filter((b) => only.has(b.id)) : benches;
  const results: Results = [];
  for (const bench of selected) {
    process.stderr.write(`running ${bench.id}: ${bench.title}\n`);
    const figures = await bench.run();
    results.push({ id: bench.id, title: bench.title, figures });
  }
  const rows = results.flatMap((r) =>
    r.figures.map((f) => [
      r.id,
      f.name,
      `${round(f.value)} ${f.unit}`,
      f.baseline ? `${round(f.baseline.value)} ${f.baseline.unit} (${f.baseline.name})` : '',
      f.target,
      f.ok ? 'ok' : 'MISSED',
    ]),
  );
  const header = ['bench', 'figure', 'value', 'baseline', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  // A run of some benches replaces their figures and keeps the others' from earlier runs.
  const file = join(__dirname, '..', '..', 'bench', 'results.json');
  const ran = new Set(results.map((r) => r.id));
  const earlier = readEarlier(file).filter((r) => !ran.has(r.id) && benches.some((b) => b.id === r.id));
  const merged = [...earlier, ...results].sort(
    (a, b) => benches.findIndex((x) => x.id === a.id) - benches.findIndex((x) => x.id === b.id),
  );
  writeFileSync(
    file,
    JSON.stringify(
      {
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        date: new Date().toISOString(),
        results: merged,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${join('bench', 'results.json')}`);
  if (results.some((r) => r.figures.some((f) => !f.ok))) process.exitCode = 1;
}

type Results = Array<{ id: string; title: string; figures: BenchFigure[] }>;

function readEarlier(file: string): Results {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { results?: Results };
    return Array.isArray(parsed.results) ? parsed.results : [];
  } catch {
    return [];
  }
}

function round(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
