// A tools module: COUNTERSIGN_TOOLS=examples/own-tools/tools.js npx countersign serve
//
// In your own project, import from the package instead:
//   import { defineTool, z } from 'countersign';
import fs from 'node:fs';
import path from 'node:path';
import { defineTool, z } from '../../dist/src/tools.js';

/** Where this example keeps its record of restarts: a file in the data directory. */
function restartsFile() {
  const dataDir = path.resolve(process.env.COUNTERSIGN_DATA_DIR ?? '.countersign');
  return path.join(dataDir, 'example-restarts.jsonl');
}

function readRestarts() {
  const file = restartsFile();
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

export default [
  defineTool({
    name: 'restart_service',
    description: 'Restarts one service in one region (this example records the restart in a file).',
    risk: 'write',
    idempotent: false,
    input: z.strictObject({
      service: z
        .string()
        .regex(/^[a-z][a-z0-9-]{0,62}$/)
        .describe('Service name, e.g. "checkout-api"'),
      region: z.enum(['eu-west-1', 'us-east-1']).describe('Where it runs'),
      drain_seconds: z.number().int().min(0).max(600).default(30).describe('Drain time first'),
    }),
    // What the reviewer reads, stored with the call's hash when it is proposed.
    describe: (p) =>
      `Restart ${p.service} in ${p.region}, draining connections for ${p.drain_seconds} s first.`,
    // A dry run reads only: it says what apply would do.
    plan: async (p) => {
      const last = readRestarts()
        .filter((r) => r.service === p.service && r.region === p.region)
        .at(-1);
      return {
        would_restart: p.service,
        region: p.region,
        drain_seconds: p.drain_seconds,
        last_restart: last ? last.at : null,
      };
    },
    // The kernel runs apply at most once per approved version; the idempotency key makes a
    // retried write harmless all the same.
    apply: async (p, ctx) => {
      const done = readRestarts().find((r) => r.idempotency_key === ctx.idempotency_key);
      if (done)
        return { restarted: done.service, region: done.region, at: done.at, repeated: true };
      const record = {
        service: p.service,
        region: p.region,
        drain_seconds: p.drain_seconds,
        at: ctx.now,
        idempotency_key: ctx.idempotency_key,
      };
      fs.mkdirSync(path.dirname(restartsFile()), { recursive: true });
      fs.appendFileSync(restartsFile(), `${JSON.stringify(record)}\n`);
      return { restarted: p.service, region: p.region, at: ctx.now };
    },
  }),
];
