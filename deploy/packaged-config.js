// @ts-check
'use strict';
/**
 * Writes the packaged greenlight.yml, parsed, into config/packaged-config.ts, so that a hook's cold
 * start takes the document from its bundle instead of loading and running the YAML parser
 * (config/config-text.ts uses it only while the file's text is exactly the one packaged). The text
 * is parsed as the loader parses it; a text with YAML errors, or with values JSON cannot carry
 * (`.nan`, `.inf`), is not written, and the hook parses it itself as before.
 */
const { isDeepStrictEqual } = require('node:util');
const { join } = require('node:path');
const { parseDocument } = require('yaml');

const MODULE = join(__dirname, '..', 'config', 'packaged-config.ts');

/**
 * @param {string} text
 * @returns {string | undefined} the document as JSON, when it is the same document read back
 */
function documentJson(text) {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) return undefined;
  const value = doc.toJS() ?? {};
  const json = JSON.stringify(value);
  return json !== undefined && isDeepStrictEqual(JSON.parse(json), value) ? json : undefined;
}

/**
 * @param {import('esbuild').PluginBuild} build
 * @param {string} text the packaged greenlight.yml
 */
function packagedConfigModule(build, text) {
  const json = documentJson(text);
  if (json === undefined) return;
  build.onLoad({ filter: /[\\/]config[\\/]packaged-config\.ts$/ }, (args) => {
    if (args.path !== MODULE) return undefined;
    return {
      contents: `export const packagedConfig = { text: ${JSON.stringify(text)}, document: JSON.parse(${JSON.stringify(json)}) };`,
      loader: 'js',
    };
  });
}

module.exports = { documentJson, packagedConfigModule };
