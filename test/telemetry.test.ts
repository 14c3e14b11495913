/**
 * OpenTelemetry against a real OTLP/HTTP receiver (node:http on 127.0.0.1, decoding the JSON
 * the exporters send) and a real `countersign serve` child process (`npm run build` first):
 * spans for each operation with the caller's trace as parent, the trace carried on to an HTTP
 * tool, the four metrics, no parameter value anywhere in what is exported; nothing exported
 * when OTEL_SDK_DISABLED is true; DEPENDENCY_MISSING when the packages are absent.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCountersignError } from '../src/core/errors.js';
import { noopTelemetry, telemetry } from '../src/core/ports/telemetry.js';
import type { Store } from '../src/core/ports/store.js';
import { OTEL_INSTALL, OTEL_PACKAGES } from '../src/main/optional-packages.js';
import { openTelemetry, otelSignals } from '../src/main/telemetry.js';
import { type SignedRemote, startSignedRemote } from './support/signed-remote.js';
import { type ServeProcess, spawnServe } from './support/countersign-serve.js';

const BIN = path.resolve('bin/countersign.js');
const SECRET = 'telemetry-ops-secret-0123456789';
// Parameter and reason values that must never leave the process in telemetry.
const SERVICE = 'svc-otelmarker-q7z';
const REASON_SECRET = 'password=hunter2-otelmarker-k3';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string | number; boolValue?: boolean };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpAttribute[];
}
interface Receiver {
  readonly url: string;
  readonly bodies: { path: string; contentType: string; raw: string }[];
  spans(): OtlpSpan[];
  metricNames(): Set<string>;
  metric(name: string): unknown;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const bodies: Receiver['bodies'] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      bodies.push({
        path: req.url ?? '',
        contentType: String(req.headers['content-type'] ?? ''),
        raw,
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const parsed = (p: string) =>
    bodies.filter((b) => b.path === p).map((b) => JSON.parse(b.raw) as Record<string, unknown>);
  return {
    url,
    bodies,
    spans() {
      const out: OtlpSpan[] = [];
      for (const body of parsed('/v1/traces'))
        for (const rs of (body.resourceSpans ?? []) as { scopeSpans: { spans: OtlpSpan[] }[] }[])
          for (const ss of rs.scopeSpans) out.push(...ss.spans);
      return out;
    },
    metricNames() {
      const names = new Set<string>();
      for (const body of parsed('/v1/metrics'))
        for (const rm of (body.resourceMetrics ?? []) as {
          scopeMetrics: { metrics: { name: string }[] }[];
        }[])
          for (const sm of rm.scopeMetrics) for (const m of sm.metrics) names.add(m.name);
      return names;
    },
    metric(name) {
      let last: unknown;
      for (const body of parsed('/v1/metrics'))
        for (const rm of (body.resourceMetrics ?? []) as {
          scopeMetrics: { metrics: { name: string }[] }[];
        }[])
          for (const sm of rm.scopeMetrics)
            for (const m of sm.metrics) if (m.name === name) last = m;
      return last;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function attr(span: OtlpSpan, key: string): string | number | boolean | undefined {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? (v.intValue === undefined ? v.boolValue : Number(v.intValue));
}

type Served = ServeProcess;

const serve = (env: Record<string, string>) => spawnServe({ PATH: process.env.PATH, ...env });

/** Waits until `pred` gives something (true, or the thing looked for) and returns it. */
const until = async <T>(what: string, pred: () => T | undefined | false, ms = 30_000) => {
  const deadline = Date.now() + ms;
  for (let found = pred(); ; found = pred()) {
    if (found !== undefined && found !== false) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

function httpToolsFile(dir: string, remoteUrl: string): string {
  const text = fs
    .readFileSync(path.resolve('examples/own-tools/http-tools.json'), 'utf8')
    .replaceAll('http://127.0.0.1:8787', remoteUrl);
  const file = path.join(dir, 'http-tools.json');
  fs.writeFileSync(file, text);
  return file;
}

/** A session against one served process: actors, tokens and calls with optional headers. */
function client(server: Served) {
  const call = async (
    token: string,
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${server.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-purpose': 'telemetry test',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const setup = async () => {
    const op = server.operatorToken;
    const agent = await call(op, 'POST', '/actors', {
      name: 'Bot',
      role: 'Developer',
      kind: 'agent',
    });
    const human = await call(op, 'POST', '/actors', { name: 'Bob', role: 'Senior Developer' });
    const agentId = agent.body.actor_id as string;
    const humanId = human.body.actor_id as string;
    const agentToken = (await call(op, 'POST', '/tokens', { actor_id: agentId, name: 'bot' })).body
      .token as string;
    const humanToken = (await call(op, 'POST', '/tokens', { actor_id: humanId, name: 'bob' })).body
      .token as string;
    const wf = await call(agentToken, 'POST', '/workflows', { title: 'Scale checkout' });
    return { agentId, humanId, agentToken, humanToken, workflow_id: wf.body.workflow_id as string };
  };
  return { call, setup };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('OpenTelemetry export from a real `countersign serve`', () => {
  let dir: string;
  let receiver: Receiver;
  let remote: SignedRemote;
  let server: Served;
  const traceId = hex(16);
  const parentSpanId = hex(8);
  const traceparent = `00-${traceId}-${parentSpanId}-01`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-telemetry-'));
    receiver = await startReceiver();
    remote = await startSignedRemote(SECRET);
    // A downstream MCP server behind the gateway that says which trace context it was called in.
    fs.mkdirSync(path.join(dir, 'data'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'data', 'gateway.json'),
      JSON.stringify({
        servers: [
          {
            name: 'down',
            prefix: 'down',
            command: process.execPath,
            args: [path.resolve('test/fixtures/downstream-mcp-server.mjs')],
            env: { DOWNSTREAM_TRACE: '1' },
          },
        ],
        risk: { 'down.trace_context': 'read' },
      }),
    );
    server = await serve({
      COUNTERSIGN_DATA_DIR: path.join(dir, 'data'),
      COUNTERSIGN_TOOLS: httpToolsFile(dir, remote.url),
      OPS_API_SECRET: SECRET,
      // Decisions are also POSTed to the signed stand-in: the delivery carries a trace too.
      COUNTERSIGN_DECISION_WEBHOOK_URL: `${remote.url}/decisions`,
      COUNTERSIGN_DECISION_WEBHOOK_SECRET: SECRET,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'countersign-under-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
      OTEL_METRIC_EXPORT_INTERVAL: '300',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await remote?.close();
    await receiver?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exports spans under the caller’s trace, carries it to the HTTP tool, and exports the four metrics without any parameter', async () => {
    const { call, setup } = client(server);
    const s = await setup();
    const withTrace = { traceparent };

    const proposed = await call(
      s.agentToken,
      'POST',
      '/proposals',
      {
        workflow_id: s.workflow_id,
        actor_id: s.agentId,
        tool: 'scale_service',
        params: { service: SERVICE, replicas: 7 },
        reason: `more capacity; ${REASON_SECRET}`,
      },
      withTrace,
    );
    expect(proposed.status).toBe(200);
    const proposal_id = proposed.body.proposal_id as string;

    // The attacker: the agent tries to approve its own call, under the same trace.
    const self = await call(
      s.agentToken,
      'POST',
      `/proposals/${proposal_id}/review`,
      { reviewer_id: s.agentId, decision: 'approve' },
      withTrace,
    );
    expect(self.status).toBe(403);

    const approved = await call(
      s.humanToken,
      'POST',
      `/proposals/${proposal_id}/review`,
      { reviewer_id: s.humanId, decision: 'approve' },
      withTrace,
    );
    expect(approved.body.status).toBe('approved');
    const executed = await call(
      s.agentToken,
      'POST',
      `/proposals/${proposal_id}/execute`,
      {},
      withTrace,
    );
    expect(executed.status).toBe(200);
    expect((executed.body.result as { status: string }).status).toBe('succeeded');

    // A second proposal stays pending: the pending-approvals gauge has something to count.
    const waiting = await call(s.agentToken, 'POST', '/proposals', {
      workflow_id: s.workflow_id,
      actor_id: s.agentId,
      tool: 'scale_service',
      params: { service: SERVICE, replicas: 3 },
      reason: 'later',
    });
    expect(waiting.body.status).toBe('pending');

    // The HTTP tool's apply request carried the caller's trace (a new span of it, not a copy).
    const apply = remote.requests.find((r) => r.path.endsWith('/apply'));
    expect(apply?.verified).toBe(true);
    const downstream = String(apply?.headers.traceparent ?? '');
    expect(downstream).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(downstream).not.toBe(traceparent);

    const wanted = [
      'countersign.operation propose_action',
      'countersign.operation review_action',
      'countersign.operation execute_action',
      'countersign.tool scale_service',
    ];
    await until('spans', () => {
      const names = new Set(receiver.spans().map((sp) => sp.name));
      return wanted.every((n) => names.has(n));
    });
    const spans = receiver.spans();
    const named = (n: string) => spans.filter((sp) => sp.name === n);

    const propose = named('countersign.operation propose_action').find(
      (sp) => attr(sp, 'countersign.proposal_id') === proposal_id,
    )!;
    expect(propose.traceId).toBe(traceId);
    expect(propose.parentSpanId).toBe(parentSpanId);
    expect(attr(propose, 'countersign.tenant')).toBe('default');
    expect(attr(propose, 'countersign.workflow_id')).toBe(s.workflow_id);
    expect(attr(propose, 'countersign.tool')).toBe('scale_service');
    expect(attr(propose, 'countersign.policy_version')).toEqual(expect.any(String));
    expect(attr(propose, 'countersign.policy_effect')).toBe('needs_review');

    const reviews = named('countersign.operation review_action').filter(
      (sp) => sp.traceId === traceId,
    );
    expect(reviews).toHaveLength(2);
    const refused = reviews.find((sp) => attr(sp, 'countersign.caller') === s.agentId)!;
    expect(attr(refused, 'countersign.error_code')).toEqual(expect.stringMatching(/^[A-Z_]+$/));
    const accepted = reviews.find((sp) => attr(sp, 'countersign.caller') === s.humanId)!;
    expect(attr(accepted, 'countersign.decision')).toBe('approve');
    expect(attr(accepted, 'countersign.proposal_id')).toBe(proposal_id);
    expect(attr(accepted, 'countersign.error_code')).toBeUndefined();

    const execute = named('countersign.operation execute_action').find(
      (sp) => sp.traceId === traceId,
    )!;
    const tool = named('countersign.tool scale_service').find((sp) => sp.traceId === traceId)!;
    expect(tool.parentSpanId).toBe(execute.spanId);
    // The downstream request's parent is the tool call's span.
    expect(downstream.split('-')[2]).toBe(tool.spanId);

    const instruments = [
      'countersign.policy.decisions',
      'countersign.executions',
      'countersign.time_to_decision',
      'countersign.approvals.pending',
    ];
    await until('metrics', () => instruments.every((n) => receiver.metricNames().has(n)));
    const executions = JSON.stringify(receiver.metric('countersign.executions'));
    expect(executions).toContain('"succeeded"');
    const decisions = JSON.stringify(receiver.metric('countersign.policy.decisions'));
    expect(decisions).toContain('"needs_review"');
    expect(decisions).toContain('"allow"');
    const pending = JSON.stringify(receiver.metric('countersign.approvals.pending'));
    expect(pending).toContain('"under_5m"');
    const ttd = receiver.metric('countersign.time_to_decision') as {
      histogram: { dataPoints: { count: string | number }[] };
    };
    expect(ttd.histogram.dataPoints.reduce((n, p) => n + Number(p.count), 0)).toBeGreaterThan(0);

    // The decision webhook ran in a delivery span of its own (after the request, from the
    // ledger), and the receiver got that span's traceparent.
    const hook = await until('decision webhook', () =>
      remote.requests.find(
        (r) => r.path === '/decisions' && JSON.stringify(r.body).includes(proposal_id),
      ),
    );
    const hookParent = String(hook.headers.traceparent ?? '');
    expect(hookParent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const delivery = await until('delivery span', () =>
      receiver
        .spans()
        .find(
          (sp) =>
            sp.name === 'countersign.delivery decision webhook' &&
            sp.spanId === hookParent.split('-')[2],
        ),
    );
    expect(delivery.traceId).toBe(hookParent.split('-')[1]);
    expect(attr(delivery, 'countersign.event_type')).toBe('APPROVAL_DECISION');

    // The resource names the service as configured.
    const resource = receiver.bodies.find((b) => b.path === '/v1/traces')!.raw;
    expect(resource).toContain('countersign-under-test');
    expect(resource).toContain('deployment.environment');

    // Nothing a parameter or a reason held left the process, in any payload.
    for (const b of receiver.bodies) {
      expect(b.contentType).toContain('application/json');
      expect(b.raw).not.toContain(SERVICE);
      expect(b.raw).not.toContain('hunter2');
      expect(b.raw).not.toContain('otelmarker');
    }
  }, 120_000);

  it('carries the trace context into a downstream MCP call, as the tool span’s child', async () => {
    const { call, setup } = client(server);
    const s = await setup();
    const trace = hex(16);
    const withTrace = { traceparent: `00-${trace}-${hex(8)}-01` };
    const proposed = await call(s.agentToken, 'POST', '/proposals', {
      workflow_id: s.workflow_id,
      actor_id: s.agentId,
      tool: 'down.trace_context',
      params: {},
      reason: 'which trace am I in',
    });
    expect(proposed.status).toBe(200);
    const proposal_id = proposed.body.proposal_id as string;
    if (proposed.body.status !== 'approved')
      expect(
        (
          await call(s.humanToken, 'POST', `/proposals/${proposal_id}/review`, {
            reviewer_id: s.humanId,
            decision: 'approve',
          })
        ).body.status,
      ).toBe('approved');
    const executed = await call(
      s.agentToken,
      'POST',
      `/proposals/${proposal_id}/execute`,
      {},
      withTrace,
    );
    expect(executed.status).toBe(200);
    const seen = JSON.stringify(executed.body.result);
    const m = new RegExp(`00-${trace}-([0-9a-f]{16})-01`).exec(seen);
    expect(m, seen).not.toBeNull();
    const tool = await until('downstream tool span', () =>
      receiver
        .spans()
        .find((sp) => sp.traceId === trace && sp.name === 'countersign.tool down.trace_context'),
    );
    expect(m![1]).toBe(tool.spanId);
  });

  it('ignores a forged traceparent: the call succeeds in a new trace, and downstream gets a well-formed header', async () => {
    const { call, setup } = client(server);
    const s = await setup();
    const forgedTrace = hex(16);
    const forged = [
      `00-${forgedTrace}-${hex(8)}-01-extra`, // trailing data
      `ff-${forgedTrace}-${hex(8)}-01`, // an unknown version
      `00-${'0'.repeat(32)}-${hex(8)}-01`, // an all-zero trace id
      `00-${forgedTrace.toUpperCase()}-${hex(8)}-01`, // upper-case hex
    ];
    for (const header of forged) {
      const proposed = await call(
        s.agentToken,
        'POST',
        '/proposals',
        {
          workflow_id: s.workflow_id,
          actor_id: s.agentId,
          tool: 'scale_service',
          params: { service: 'forged-check', replicas: 1 },
          reason: 'forged trace header',
        },
        { traceparent: header },
      );
      expect(proposed.status, header).toBe(200);
      const id = proposed.body.proposal_id as string;
      await until(`span of ${id}`, () =>
        receiver
          .spans()
          .some(
            (sp) =>
              sp.name === 'countersign.operation propose_action' &&
              attr(sp, 'countersign.proposal_id') === id,
          ),
      );
      const span = receiver
        .spans()
        .find(
          (sp) =>
            sp.name === 'countersign.operation propose_action' &&
            attr(sp, 'countersign.proposal_id') === id,
        )!;
      expect(span.traceId, header).not.toBe(forgedTrace);
      expect(span.traceId, header).not.toBe('0'.repeat(32));
      expect(span.parentSpanId ?? '', header).toBe('');
    }
    // A forged header passed on to a tool would be re-encoded anyway; nothing but the format.
    for (const r of remote.requests)
      if (r.headers.traceparent !== undefined)
        expect(String(r.headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  }, 120_000);

  it('exports a span for a workflow run and each of its steps, with the run as their parent', async () => {
    const { call } = client(server);
    const dev = await call(server.operatorToken, 'POST', '/actors', {
      name: 'Dana',
      role: 'Developer',
    });
    const devToken = (
      await call(server.operatorToken, 'POST', '/tokens', {
        actor_id: dev.body.actor_id as string,
        name: 'dana',
      })
    ).body.token as string;
    const now = Date.now();
    const started = await call(
      devToken,
      'POST',
      '/workflows/start',
      {
        definition: 'ops_change_control',
        idempotency_key: 'otel-run-1',
        input: {
          change_request: {
            title: 'Tune checkout-api db.pool_size',
            summary: 'Set db.pool_size of checkout-api to 42.',
            change_type: 'configuration',
            requested_by: 'dana@example.com',
            ticket: 'CHG-7001',
          },
          impacted_systems: [
            {
              name: 'checkout-api',
              criticality: 'medium',
              environment: 'staging',
              owner: 'platform-team',
            },
          ],
          requirements: { compliance: [] },
          change_window: {
            start: new Date(now - 3_600_000).toISOString(),
            end: new Date(now + 6 * 3_600_000).toISOString(),
          },
          parameters: {
            config_changes: [
              { service: 'checkout-api', key: 'db.pool_size', from: null, to: '42' },
            ],
          },
        },
      },
      { traceparent },
    );
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const workflow_id = started.body.workflow_id as string;
    const ofRun = (sp: OtlpSpan) => attr(sp, 'countersign.workflow_id') === workflow_id;
    await until('run and step spans', () => {
      const spans = receiver.spans().filter(ofRun);
      return (
        spans.some((sp) => sp.name === 'countersign.run') &&
        spans.some((sp) => sp.name.startsWith('countersign.step ')) &&
        spans.some((sp) => sp.name === 'countersign.agent')
      );
    });
    const spans = receiver.spans().filter(ofRun);
    const runs = spans.filter((sp) => sp.name === 'countersign.run');
    const steps = spans.filter(
      (sp) => sp.name.startsWith('countersign.step ') || sp.name === 'countersign.agent',
    );
    // Every step ran inside a drive of its run.
    for (const step of steps)
      expect(
        runs.map((r) => r.spanId),
        step.name,
      ).toContain(step.parentSpanId);
    // The first drive began under the start call, in the caller's trace.
    expect(runs.some((r) => r.traceId === traceId)).toBe(true);
    for (const sp of spans) expect(attr(sp, 'countersign.tenant')).toBe('default');
  }, 120_000);

  it('takes the trace context of an MCP call from its _meta', async () => {
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const { StreamableHTTPClientTransport } =
      await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
    const mcpTrace = hex(16);
    const mcpParent = hex(8);
    const mcp = new Client({ name: 'telemetry-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${server.operatorToken}` } },
      }),
    );
    try {
      const result = await mcp.callTool({
        name: 'list_tools',
        arguments: {},
        _meta: { traceparent: `00-${mcpTrace}-${mcpParent}-01` },
      });
      expect(result.isError ?? false).toBe(false);
    } finally {
      await mcp.close();
    }
    await until('the MCP call’s span', () =>
      receiver.spans().some((sp) => sp.traceId === mcpTrace),
    );
    const span = receiver.spans().find((sp) => sp.traceId === mcpTrace)!;
    expect(span.name).toBe('countersign.operation list_tools');
    expect(span.parentSpanId).toBe(mcpParent);
  }, 60_000);
});

describe('OpenTelemetry at the local CLI', () => {
  it('exports the span of a one-shot command before it exits', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-telemetry-cli-'));
    const receiver = await startReceiver();
    try {
      const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'tools'], {
          env: {
            PATH: process.env.PATH,
            COUNTERSIGN_DATA_DIR: path.join(dir, 'data'),
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, out }));
      });
      expect(result.code, result.out).toBe(0);
      // Exported on close (the default batch delay is 5 s; the command took less).
      const span = receiver.spans().find((sp) => sp.name === 'countersign.operation list_tools');
      expect(span && attr(span, 'countersign.caller')).toBe('operator');
      // Only traces were asked for: no metrics request.
      expect(receiver.bodies.map((b) => b.path)).not.toContain('/v1/metrics');
    } finally {
      await receiver.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('OpenTelemetry off', () => {
  it('exports nothing when OTEL_SDK_DISABLED is true, though an endpoint is set', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-telemetry-off-'));
    const receiver = await startReceiver();
    const server = await serve({
      COUNTERSIGN_DATA_DIR: path.join(dir, 'data'),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SDK_DISABLED: 'true',
      OTEL_METRIC_EXPORT_INTERVAL: '100',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    try {
      const { call } = client(server);
      const actor = await call(server.operatorToken, 'POST', '/actors', {
        name: 'Ann',
        role: 'Developer',
      });
      expect(actor.status).toBe(200);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await server.stop();
      await receiver.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(receiver.bodies).toEqual([]);
  }, 90_000);

  it('stays the no-op without OTEL_* variables, and asks for no package', async () => {
    expect(otelSignals({})).toEqual({ traces: false, metrics: false });
    expect(otelSignals({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:1' })).toEqual({
      traces: false,
      metrics: true,
    });
    let loaded = false;
    const t = await openTelemetry(
      {},
      () => ({}) as Store,
      () => {
        loaded = true;
        return Promise.reject(new Error('not to be loaded'));
      },
    );
    expect(t).toBeUndefined();
    expect(loaded).toBe(false);
    expect(telemetry()).toBe(noopTelemetry);
  });

  it('names the install command when an OpenTelemetry package is missing', async () => {
    const missing = Object.assign(
      new Error(
        "Cannot find package '@opentelemetry/sdk-metrics' imported from /app/dist/src/adapters/telemetry/otel-telemetry.js",
      ),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    const e: unknown = await openTelemetry(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' },
      () => ({}) as Store,
      () => Promise.reject(missing),
    ).catch((x: unknown) => x);
    expect(isCountersignError(e) && e.code).toBe('DEPENDENCY_MISSING');
    expect((e as Error).message).toContain(OTEL_INSTALL);
    for (const name of Object.keys(OTEL_PACKAGES)) expect(OTEL_INSTALL).toContain(name);
    // Another failure is not dressed up as a missing package.
    const other = new Error('boom');
    const e2: unknown = await openTelemetry(
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' },
      () => ({}) as Store,
      () => Promise.reject(other),
    ).catch((x: unknown) => x);
    expect(e2).toBe(other);
  });
});
