// The rehearsal's config: the sample shipped with greenlight, rendered with the rehearsal's own addresses.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseDocument } from 'yaml';
import { loadConfig, type LoadedConfig } from '../config/config';
import { ConfigError, errorMessage } from '../lib/errors';
import type { Scenario } from './scenarios';

/** The sample config shipped with greenlight: `rehearsal/greenlight.yml`, from source or from `dist/`. */
export function sampleConfigPath(): string {
  const candidates = [
    join(__dirname, 'greenlight.yml'),
    join(__dirname, '..', '..', 'rehearsal', 'greenlight.yml'),
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

/** Fills in `${rehearsal:...}` and points the targets at the rehearsal's listeners. */
export function renderRehearsalConfig(text: string, source: string, values: Record<string, string>): string {
  const rendered = text.replace(/\$\{rehearsal:([a-z][a-z0-9-]*)\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new ConfigError(
        `${source}: unknown reference ${whole}; the rehearsal provides ${Object.keys(values)
          .map((k) => `\${rehearsal:${k}}`)
          .join(', ')}`,
      );
    }
    return value;
  });
  const doc = parseDocument(rendered);
  if (doc.errors.length) return rendered; // the config loader reports the YAML error with its position
  doc.setIn(['targets', 'test'], values['test-url']);
  doc.setIn(['targets', 'prod'], values['prod-url']);
  return doc.toString();
}

/**
 * Writes the config at `configPath`, with the scenario's check lists and the rehearsal's values
 * filled in, into `dir` and loads it; errors name `configPath`, not the rendered copy.
 */
export async function prepareRehearsalConfig(
  configPath: string,
  dir: string,
  hooks: Scenario['hooks'],
  values: Record<string, string>,
): Promise<{ renderedPath: string; config: LoadedConfig }> {
  const renderedPath = join(dir, basename(configPath).replace(/\.(ya?ml|json)$/, '') + '.yml');
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${configPath}: ${errorMessage(err)}`, { cause: err });
  }
  if (hooks) text = withScenarioHooks(text, hooks);
  await writeFile(renderedPath, renderRehearsalConfig(text, configPath, values));
  let config;
  try {
    config = await loadConfig(renderedPath);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new ConfigError(err.message.split(renderedPath).join(configPath), { cause: err });
    throw err;
  }
  return { renderedPath, config };
}

/**
 * The config text with the scenario's own check lists for the events it names. A config that
 * lacks a check the scenario lists (a user's own, with --config) keeps its own lists.
 */
function withScenarioHooks(text: string, hooks: NonNullable<Scenario['hooks']>): string {
  const doc = parseDocument(text);
  for (const [event, names] of Object.entries(hooks)) {
    if (names.every((name) => doc.hasIn(['checks', name])))
      doc.setIn(['hooks', event], doc.createNode(names, { flow: true }));
  }
  return String(doc);
}
