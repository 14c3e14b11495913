/**
 * What the governed gateway adds to a downstream MCP call: in one run, the fixture's `echo`
 * called directly with an SDK client, and through the gateway's ToolDefinition (validate() and
 * apply(), the path of a call that needs no review). Each side has its own fixture process;
 * calls alternate (and alternate which goes first) after a warm-up.
 *
 *   npm run build && node dist/bench/gateway-bench.js     (COUNTERSIGN_BENCH_CALLS=2000)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { loadGatewayTools } from '../src/adapters/tools/mcp-gateway.js';
import type { ToolContext } from '../src/core/ports/tools.js';

const CALLS = Number(process.env.COUNTERSIGN_BENCH_CALLS ?? '2000');
const WARMUP = Math.max(100, Math.floor(CALLS / 10));
const TARGET_MS = 1;

/** The fixture lives in the repository, found by walking up (this file runs from dist/bench). */
function fixturePath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'test', 'fixtures', 'downstream-mcp-server.mjs');
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test/fixtures/downstream-mcp-server.mjs not found');
    dir = up;
  }
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function summary(samples: readonly number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99) };
}

const ms = (x: number) => `${x.toFixed(3)} ms`;

async function main(): Promise<void> {
  const fixture = fixturePath();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-gateway-bench-'));
  const server = { command: process.execPath, args: [fixture], env: { DOWNSTREAM_DIR: tmp } };
  fs.writeFileSync(
    path.join(tmp, 'gateway.json'),
    JSON.stringify({ servers: [{ name: 'down', ...server }], risk: { 'down.echo': 'read' } }),
  );

  const direct = new Client({ name: 'bench-direct', version: '0.0.0' });
  await direct.connect(new StdioClientTransport({ ...server, stderr: 'ignore' }));
  const gateway = await loadGatewayTools({ dataDir: tmp });
  try {
    const echo = gateway.tools.find((t) => t.name === 'down.echo');
    if (!echo)
      throw new Error(`gateway did not load down.echo: ${JSON.stringify(gateway.servers)}`);
    const ctx: ToolContext = {
      tenant_id: 'bench',
      workflow_id: 'workflow_1',
      proposal_id: 'proposal_1',
      execution_id: 'proposal_1.v1',
      idempotency_key: 'bench:proposal_1:v1',
      now: new Date().toISOString(),
    };

    const callDirect = async (i: number) => {
      const t0 = performance.now();
      await direct.callTool({ name: 'echo', arguments: { text: `hello ${i}` } });
      return performance.now() - t0;
    };
    const callGateway = async (i: number) => {
      const t0 = performance.now();
      const checked = echo.validate({ text: `hello ${i}` });
      if (!checked.ok) throw new Error('validation failed');
      const t1 = performance.now();
      await echo.apply(checked.value, ctx);
      const t2 = performance.now();
      return { total: t2 - t0, apply: t2 - t1 };
    };

    for (let i = 0; i < WARMUP; i++) {
      await callDirect(i);
      await callGateway(i);
    }
    const directMs: number[] = [];
    const gatewayMs: number[] = [];
    const applyMs: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const record = (g: { total: number; apply: number }) => {
        gatewayMs.push(g.total);
        applyMs.push(g.apply);
      };
      if (i % 2 === 0) {
        directMs.push(await callDirect(i));
        record(await callGateway(i));
      } else {
        record(await callGateway(i));
        directMs.push(await callDirect(i));
      }
    }

    const d = summary(directMs);
    const a = summary(applyMs);
    const g = summary(gatewayMs);
    const added = { p50: g.p50 - d.p50, p90: g.p90 - d.p90, p99: g.p99 - d.p99 };
    console.log(`gateway bench: ${CALLS} calls each (after ${WARMUP} warm-up), alternating`);
    console.log(`  direct SDK client        p50 ${ms(d.p50)}  p90 ${ms(d.p90)}  p99 ${ms(d.p99)}`);
    console.log(`  gateway apply()          p50 ${ms(a.p50)}  p90 ${ms(a.p90)}  p99 ${ms(a.p99)}`);
    console.log(`  gateway validate+apply   p50 ${ms(g.p50)}  p90 ${ms(g.p90)}  p99 ${ms(g.p99)}`);
    console.log(
      `  added by the gateway     p50 ${ms(added.p50)}  p90 ${ms(added.p90)}  p99 ${ms(added.p99)}  ` +
        `(target < ${TARGET_MS} ms at p99: ${added.p99 < TARGET_MS ? 'met' : 'MISSED'})`,
    );
    console.log(
      JSON.stringify({
        calls: CALLS,
        direct_p50_ms: d.p50,
        direct_p99_ms: d.p99,
        apply_p50_ms: a.p50,
        apply_p99_ms: a.p99,
        gateway_p50_ms: g.p50,
        gateway_p99_ms: g.p99,
        added_p50_ms: added.p50,
        added_p90_ms: added.p90,
        added_p99_ms: added.p99,
      }),
    );
  } finally {
    await gateway.close();
    await direct.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
