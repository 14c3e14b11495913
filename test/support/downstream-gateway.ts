import fs from 'node:fs';
import path from 'node:path';
import { enginePolicyText } from './engine-fixture.js';

const FIXTURE = path.resolve('test/fixtures/downstream-mcp-server.mjs');

/**
 * Sets a data directory up for the safe AI workflow's write-back: `gateway.json` naming the
 * downstream MCP server fixture (its `write_file` a write, its `echo` a read) and a policy
 * directory with the default policies except that reads run without review.
 * Returns where the downstream server writes and the policy directory.
 */
export function writeDownstreamGateway(dataDir: string): { downstream: string; policies: string } {
  const downstream = path.join(dataDir, 'downstream');
  fs.mkdirSync(downstream);
  fs.writeFileSync(
    path.join(dataDir, 'gateway.json'),
    JSON.stringify({
      servers: [
        {
          name: 'down',
          prefix: 'down',
          command: process.execPath,
          args: [FIXTURE],
          env: { DOWNSTREAM_DIR: downstream },
        },
      ],
      risk: { 'down.echo': 'read', 'down.write_file': 'write' },
    }),
  );
  const policies = path.join(dataDir, 'policies');
  fs.mkdirSync(policies);
  fs.writeFileSync(path.join(policies, 'policies.cedar'), enginePolicyText());
  return { downstream, policies };
}
