/**
 * The HTTP API's speed as a ratio against a baseline measured in the same run: a bare node:http
 * hello-world server vs an authenticated (bearer token), validated, policy-checked read
 * (GET /workflows/{id}) of `countersign serve`. Load comes from autocannon in the same process
 * over loopback; rounds alternate subject and baseline and the median ratio is reported.
 *
 *   npm run build && node dist/bench/http-bench.js
 *   (COUNTERSIGN_BENCH_SECONDS per measurement, default 3; COUNTERSIGN_BENCH_ROUNDS, default 3)
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { operatorContext } from '../src/core/context.js';
import { configFromEnv } from '../src/main/config.js';
import { startServer } from '../src/main/serve.js';

const SECONDS = Number(process.env.COUNTERSIGN_BENCH_SECONDS ?? '3');
const ROUNDS = Number(process.env.COUNTERSIGN_BENCH_ROUNDS ?? '3');
const CONNECTIONS = Number(process.env.COUNTERSIGN_BENCH_CONNECTIONS ?? '10');
const TARGET = 0.5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Requests per second that autocannon sustains against `url`; every answer must be a 2xx. */
async function load(url: string, headers: Record<string, string>, seconds: number) {
  const result = await autocannon({
    url,
    headers,
    connections: CONNECTIONS,
    duration: seconds,
    // No worker threads: on Node 20.20 autocannon's worker mode crashes V8 ("unreachable code"
    // in the deoptimizer) after a few runs. In-process load costs both servers alike.
  });
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(
      `${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  return result.requests.total / (result.duration || seconds);
}

async function main() {
  console.log(
    `countersign HTTP bench: ${SECONDS}s per measurement, ${ROUNDS} rounds, ${CONNECTIONS} connections, ` +
      `node ${process.version}, ${os.cpus().length} cores`,
  );
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-http-bench-'));
  const server = await startServer({ ...configFromEnv({}), dataDir: tmp }, { port: 0 });
  const bare = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end('{"hello":"world"}');
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  try {
    // A plain actor reads a workflow with a few proposals: token lookup, schema validation,
    // a Cedar decision and the store reads, as any client's read would.
    const k = server.kernel;
    const op = operatorContext('bench setup');
    const { actor_id } = await k.registerActor(op, { name: 'Reader', role: 'Developer' });
    const { token } = await k.createToken(op, { actor_id, name: 'bench' });
    const { workflow_id } = await k.startWorkflow(op, { title: 'bench' });
    for (let i = 0; i < 3; i++)
      await k.proposeAction(op, {
        workflow_id,
        actor_id,
        tool: 'update_status',
        params: { status: `s${i}` },
        reason: 'bench',
      });
    const subjectUrl = `${server.url}/workflows/${workflow_id}`;
    const subjectHeaders = { authorization: `Bearer ${token}` };
    const check = await fetch(subjectUrl, { headers: subjectHeaders });
    if (check.status !== 200) throw new Error(`GET ${subjectUrl} answered ${check.status}`);
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;

    const healthUrl = `${server.url}/healthz`;

    // Warm up (JIT, SQLite page cache, connection setup).
    await load(subjectUrl, subjectHeaders, 1);
    await load(bareUrl, {}, 1);
    await load(healthUrl, {}, 1);

    const subjects: number[] = [];
    const baselines: number[] = [];
    const framework: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      subjects.push(await load(subjectUrl, subjectHeaders, SECONDS));
      baselines.push(await load(bareUrl, {}, SECONDS));
      // Context, not a target: the same server's unauthenticated GET /healthz, to show how much
      // of the gap is the framework and how much the governed read behind it.
      framework.push(await load(healthUrl, {}, SECONDS));
      console.log(
        `  round ${r + 1}: governed read ${subjects[r]!.toFixed(0)}, bare ${baselines[r]!.toFixed(0)}, ` +
          `/healthz ${framework[r]!.toFixed(0)} req/s (ratio ${(subjects[r]! / baselines[r]!).toFixed(3)})`,
      );
    }
    const frameworkRatio = median(framework.map((s, i) => s / baselines[i]!));
    const ratio = median(subjects.map((s, i) => s / baselines[i]!));
    const met = ratio >= TARGET;
    console.log(
      `authenticated, validated, policy-checked GET /workflows/{id} vs bare node:http: ` +
        `${median(subjects).toFixed(0)} vs ${median(baselines).toFixed(0)} req/s -> ratio ${ratio.toFixed(3)} ` +
        `(target ${TARGET}x) ${met ? 'MET' : 'NOT MET'}`,
    );
    console.log(
      `context: unauthenticated GET /healthz on the same server vs bare node:http: ratio ${frameworkRatio.toFixed(3)}`,
    );
    console.log(
      JSON.stringify({
        rows: [
          {
            name: 'http GET /workflows/{id} vs bare node:http',
            subject: median(subjects),
            baseline: median(baselines),
            ratio,
            target: `>= ${TARGET}x`,
            met,
          },
          {
            name: 'http GET /healthz (framework only, context) vs bare node:http',
            subject: median(framework),
            baseline: median(baselines),
            ratio: frameworkRatio,
            target: null,
            met: null,
          },
        ],
      }),
    );
  } finally {
    await new Promise<void>((resolve) => bare.close(() => resolve()));
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
