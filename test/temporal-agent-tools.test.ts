import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import type { JsonObject } from '../src/core/model.js';
import { validateTrace } from '../src/core/trace.js';
import type { AnyDefinition } from '../src/engine/catalogue.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import type { Config } from '../src/main/config.js';
import { startWorker } from '../src/main/worker.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import { enginePolicyText } from './support/engine-fixture.js';
import {
  keepHistory,
  temporalClient,
  temporalConfig,
  testDataConverter,
} from './support/temporal-fixture.js';

/**
 * An agent step with tools on the Temporal runtime: the rules provider's lookup agent asks for a
 * read tool (an HTTP tool on 127.0.0.1) and for a tool it was not given; the read runs once as a
 * governed call, the other is refused on record, and the recorded history replays with the SDK's
 * replayer without calling the tool or the model again.
 */
const WORKFLOWS = path.resolve('test/fixtures/temporal/agent-tools-workflows.mjs');
const SECRET_ENV = 'AGENT_TOOLS_TEST_SECRET';
const ctx = operatorContext('temporal agent tools tests');
let db: FreshPgDatabase;
let config: Config;
let rt: Runtime;
let dir: string;
let toolServer: http.Server;
const toolRequests: JsonObject[] = [];

beforeAll(async () => {
  toolServer = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject;
      toolRequests.push(body);
      const params = body.params as JsonObject;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ticket: params.id, status: 'open' }));
    });
  });
  await new Promise<void>((resolve) => toolServer.listen(0, '127.0.0.1', resolve));
  const { port } = toolServer.address() as AddressInfo;
  process.env[SECRET_ENV] = 'a-test-secret-of-some-length';
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-agent-tools-'));
  fs.mkdirSync(path.join(dir, 'policies'));
  // The default policies, with reads running without review.
  fs.writeFileSync(path.join(dir, 'policies', 'policies.cedar'), enginePolicyText());
  const toolsFile = path.join(dir, 'tools.json');
  fs.writeFileSync(
    toolsFile,
    JSON.stringify({
      tools: [
        {
          name: 'lookup_ticket',
          description: 'Reads a ticket from the tracker.',
          risk: 'read',
          input: {
            type: 'object',
            properties: { id: { type: 'string' } },
            required: ['id'],
            additionalProperties: false,
          },
          apply: { url: `http://127.0.0.1:${port}/apply` },
          secret_env: SECRET_ENV,
        },
      ],
    }),
  );
  const definitionUrl = pathToFileURL(
    path.resolve('test/fixtures/temporal/agent-tools-definition.mjs'),
  );
  const { agentLookup } = (await import(definitionUrl.href)) as { agentLookup: AnyDefinition };
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_agent_tools');
  config = {
    ...temporalConfig(inject('temporalAddress'), db.url, 'agenttools'),
    policyDir: path.join(dir, 'policies'),
    tools: toolsFile,
  };
  rt = await openRuntime(config, { warn: () => undefined, definitions: [agentLookup] });
}, 60_000);

afterAll(async () => {
  await rt?.close();
  await db?.drop();
  toolServer?.closeAllConnections();
  await new Promise<void>((resolve) =>
    toolServer ? toolServer.close(() => resolve()) : resolve(),
  );
  if (config) fs.rmSync(config.dataDir, { recursive: true, force: true });
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  delete process.env[SECRET_ENV];
});

it('runs the read tool an agent asks for once, refuses the one it was not given, and replays without calling again', async () => {
  const worker = await startWorker(config, { workflowsPath: WORKFLOWS });
  let workflow_id: string;
  try {
    const started = await rt.engine.start(ctx, {
      definition: 'agent_lookup',
      input: {
        lookups: [
          { tool: 'lookup_ticket', params: { id: 'T-1' } },
          { tool: 'review_action', params: { proposal_id: 'prop_1', decision: 'approve' } },
        ],
      },
      idempotency_key: 'AL-1',
    });
    workflow_id = started.workflow_id;
    const client = await temporalClient(inject('temporalAddress'), config);
    try {
      const handle = client.workflow.getHandle(workflow_id);
      expect(await handle.result()).toMatchObject({ state: 'completed', stage: 'done' });
      await keepHistory(inject('temporalAddress'), handle, 'agent-lookup');
      const status = await rt.engine.status(ctx, workflow_id);
      expect(status).toMatchObject({ status: 'completed', stage: 'done' });
      expect(status.artifacts.lookups).toEqual({
        results: [
          {
            tool: 'lookup_ticket',
            ok: true,
            output: { ticket: 'T-1', status: 'open' },
            code: null,
          },
          { tool: 'review_action', ok: false, output: null, code: 'POLICY_DENIED' },
        ],
      });
      expect(toolRequests).toHaveLength(1);
      expect(toolRequests[0]).toMatchObject({
        tool: 'lookup_ticket',
        mode: 'apply',
        params: { id: 'T-1' },
        workflow_id,
      });

      const events = await rt.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
      const agents = events.filter((e) => e.type === 'AGENT_INVOKE');
      expect(agents.map((e) => [e.data.turn, e.data.tool_calls])).toEqual([
        [1, ['lookup_ticket', 'review_action']],
        [2, []],
      ]);
      const invocation = agents[0]!.data.agent_invocation_id;
      const invoked = events.filter((e) => e.type === 'TOOL_INVOKE');
      expect(invoked.map((e) => e.data)).toEqual([
        expect.objectContaining({
          tool: 'lookup_ticket',
          workflow_id,
          agent_invocation_id: invocation,
          purpose: ctx.purpose,
        }),
      ]);
      const refused = events.filter((e) => e.type === 'OPERATION_REFUSED');
      expect(refused.map((e) => [e.data.tool, e.data.code])).toEqual([
        ['review_action', 'POLICY_DENIED'],
      ]);
      // The one decision is policy's allowance of the read; nothing approved anything else.
      expect(
        events
          .filter((e) => e.type === 'APPROVAL_DECISION')
          .map((e) => [e.actor, e.data.decision, e.data.proposal_id]),
      ).toEqual([['policy', 'policy_allow', invoked[0]!.data.proposal_id]]);
      expect(validateTrace(workflow_id, events).problems).toEqual([]);

      // The SDK's replayer runs the recorded history through the workflow code again: the same
      // turns and calls in the same order (no determinism violation), and no activity runs.
      const history = await handle.fetchHistory();
      const workflowBundle = await bundleWorkflowCode({
        workflowsPath: WORKFLOWS,
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      });
      await expect(
        Worker.runReplayHistory(
          { workflowBundle, dataConverter: testDataConverter() },
          history,
          workflow_id,
        ),
      ).resolves.toBeUndefined();
      expect(toolRequests).toHaveLength(1);
      const after = await rt.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
      expect(after).toHaveLength(events.length);
    } finally {
      await client.connection.close();
    }
  } finally {
    await worker.stop();
  }
}, 120_000);
