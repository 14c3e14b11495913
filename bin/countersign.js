#!/usr/bin/env node
import fs from 'node:fs';

// The package ships its build in dist/; a checkout builds it with `npm run build`.
const cli = new URL('../dist/src/main/cli.js', import.meta.url);
if (!fs.existsSync(cli)) {
  process.stderr.write(
    'error: dist/src/main/cli.js is not built. In a checkout, run `npm run build` once (npm install no longer builds); an installed package ships it built.\n',
  );
  process.exit(1);
}
const { run } = await import(cli.href);
process.exitCode = await run(process.argv.slice(2));
