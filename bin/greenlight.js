#!/usr/bin/env node
'use strict';
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
