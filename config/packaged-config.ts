/**
 * The greenlight.yml a hook bundle was packaged with, already parsed: deploy/esbuild-plugins.js
 * writes it here when the YAML parses cleanly into plain JSON values. A hook whose config file
 * still holds exactly this text takes the document from here and never loads the YAML parser on
 * its cold start. Undefined outside a hook bundle.
 */
export const packagedConfig: { readonly text: string; readonly document: unknown } | undefined = undefined;
