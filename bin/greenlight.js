#!/usr/bin/env node
'use strict';
// On Node 20 the AWS SDK prints, on every run, that its releases from 2027 will need Node 22.
// The CLI runs on whatever Node the user has (the hooks run on Lambda's nodejs22.x), so that
// notice is the README's to give, not every command's. Setting the variable to anything but
// "true" shows it again.
if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
}
let cli;
try {
  cli = require('../dist/bin/cli.js');
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/bin/cli.js')) {
    console.error(
      'greenlight is not built yet: run `npm install` (or `npm run build`) in the project first.',
    );
    process.exit(2);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exitCode = 2;
  },
);
