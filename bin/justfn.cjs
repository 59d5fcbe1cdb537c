#!/usr/bin/env node
'use strict';
// `justfn start` goes straight to the bootstrap entry, which loads only the chosen mode; every other
// command goes through the command-line bundle.
const [command, ...rest] = process.argv.slice(2);
if (command === 'start' && !rest.includes('--help') && !rest.includes('-h')) {
  require('../dist/main.cjs').start(rest);
} else {
  require('../dist/cli.cjs')
    .main(process.argv.slice(2))
    .catch((error) => {
      process.stderr.write(`justfn: ${error?.stack ?? error}\n`);
      process.exit(1);
    });
}
