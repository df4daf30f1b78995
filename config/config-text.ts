import { ConfigError } from '../lib/errors';
import { packagedConfig } from './packaged-config';

/**
 * The document in config text: YAML 1.2, of which JSON is a subset. The parser loads on first use,
 * and not at all when the text is the one the bundle was packaged with (packaged-config.ts).
 */
export async function configDocument(text: string, source: string): Promise<unknown> {
  if (packagedConfig && text === packagedConfig.text) return structuredClone(packagedConfig.document);
  const { LineCounter, parseDocument } = await import('yaml');
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const at = first.linePos?.[0] ?? lines.linePos(first.pos[0]);
    const where = ` at line ${at.line}, column ${at.col}`;
    throw new ConfigError(`${source}: invalid YAML${where}: ${first.message.split('\n')[0]}`);
  }
  return doc.toJS() ?? {};
}
