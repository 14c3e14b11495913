// Starts `countersign mcp` from the build, for tests that need a real stdio server process
// before the CLI wires the command. Run `npm run build` first.
import { configFromEnv } from '../../dist/src/main/config.js';
import { runMcpStdio } from '../../dist/src/main/mcp-stdio.js';

await runMcpStdio(configFromEnv());
