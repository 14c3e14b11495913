import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import type { LedgerEvent } from '../src/core/model.js';
import { validateTrace } from '../src/core/trace.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { writeDownstreamGateway } from './support/downstream-gateway.js';

/**
 * Seed 001's SafeAIAssistedWorkflow end to end on the composed runtime: the knowledge base
 * (SQLite FTS5), the rules model through the model gateway (redaction, token use), policy
 * obligations, a human gate when needed, and the write-back through the governed gateway to a
 * real downstream MCP server over stdio.
 */
const ctx = operatorContext('safe ai tests');

let dir: string;
let downstream: string;
let rt: Runtime;
let reviewer: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-safe-ai-'));
  const setup = writeDownstreamGateway(dir);
  downstream = setup.downstream;
  const policies = setup.policies;
  rt = await openRuntime(
    { ...configFromEnv({}), dataDir: dir, policyDir: policies },
    { env: {}, warn: () => undefined },
  );
  reviewer = (await rt.kernel.registerActor(ctx, { name: 'Rita', role: 'support_lead' })).actor_id;
  const add = (title: string, body: string, tags: string[]) =>
    rt.services.workflows.addDocument(ctx, { title, body, tags });
  await add(
    'Checkout service restart runbook',
    'To restart the checkout service, drain traffic first, then run systemctl restart checkout and watch the error rate for ten minutes.',
    ['runbook', 'checkout'],
  );
  await add(
    'Checkout service on-call notes',
    'The checkout service restart takes about two minutes; page the payments team if errors stay above one percent.',
    ['oncall'],
  );
  await add('Holiday calendar', 'The office is closed on public holidays.', ['hr']);
});

afterAll(async () => {
  await rt?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const start = (key: string, input: Record<string, unknown>) =>
  rt.engine.start(ctx, { definition: 'safe_ai_assisted', input, idempotency_key: key });
const ledger = (workflow_id: string): Promise<LedgerEvent[]> =>
  rt.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
/** What the downstream tool wrote: one appended line per call. */
const written = () =>
  fs.existsSync(path.join(downstream, 'reply.txt'))
    ? fs.readFileSync(path.join(downstream, 'reply.txt'), 'utf8')
    : null;

describe('safe AI-assisted workflow', () => {
  it('retrieves, drafts, waits for approval of the write-back, then writes once and notifies', async () => {
    const run = await start('case-1', {
      case_id: 'CASE-1',
      question: 'How do I restart the checkout service safely?',
      reply: { tool: 'down.write_file', params: { name: 'reply.txt' }, text_param: 'content' },
    });
    expect(run).toMatchObject({ status: 'waiting', stage: 'approval' });
    expect(run.context).toMatchObject({ approval_required: true, case_id: 'CASE-1' });
    const knowledge = run.artifacts.knowledge as { id: string; title: string }[];
    expect(knowledge.map((k) => k.title)).toEqual([
      'Checkout service restart runbook',
      'Checkout service on-call notes',
    ]);
    const draft = run.artifacts.draft as {
      citations: string[];
      answer: string;
      confidence: string;
    };
    expect(draft.citations.sort()).toEqual(knowledge.map((k) => k.id).sort());
    expect(draft.confidence).toBe('high');
    expect(written()).toBeNull();

    const approval_id = run.waiting_on!.approval_id as string;
    const { approval } = await rt.services.workflows.getApproval(ctx, approval_id);
    expect(approval.packet).toMatchObject({ answer: draft.answer, confidence: 'high' });
    expect(approval.proposals).toHaveLength(1);

    const done = await rt.engine.decide(ctx, {
      approval_id,
      reviewer_id: reviewer,
      decision: 'approve',
      comment: 'accurate',
    });
    expect(done.run).toMatchObject({ status: 'completed', stage: 'completed' });
    expect(written()).toBe(`${draft.answer}\n`);

    const events = await ledger(run.workflow_id);
    expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
    const agent = events.find(
      (e) => e.type === 'AGENT_INVOKE' && e.data.role === 'response_drafter',
    )!;
    expect(agent.data).toMatchObject({ model: 'rules/v1', ok: true });
    const tool = events.find((e) => e.type === 'TOOL_INVOKE')!;
    expect(tool.data).toMatchObject({ tool: 'down.write_file', workflow_id: run.workflow_id });
    // The write-back runs under the invocation the execute step generated, recorded before it.
    const executor = events.find(
      (e) =>
        e.type === 'AGENT_INVOKE' && e.data.agent_invocation_id === tool.data.agent_invocation_id,
    )!;
    expect(executor.data).toMatchObject({
      step_id: 'send_reply',
      role: 'response_drafter',
      model: null,
    });
    expect(executor.seq).toBeLessThan(tool.seq);
    expect(events.find((e) => e.type === 'NOTIFICATION_SENT')?.data).toMatchObject({
      channel: 'ops',
    });
    // A retried start is the same run and changes nothing.
    const again = await start('case-1', {
      case_id: 'CASE-1',
      question: 'How do I restart the checkout service safely?',
      reply: { tool: 'down.write_file', params: { name: 'reply.txt' }, text_param: 'content' },
    });
    expect(again.workflow_id).toBe(run.workflow_id);
    expect(written()).toBe(`${draft.answer}\n`);
  });

  it('runs straight through when policy allows the write-back and the draft needs no review', async () => {
    const run = await start('case-2', {
      question: 'How long does a checkout service restart take?',
      reply: { tool: 'down.echo', params: {}, text_param: 'text' },
    });
    expect(run).toMatchObject({ status: 'completed', stage: 'completed' });
    expect(run.context).toMatchObject({ approval_required: false });
    const events = await ledger(run.workflow_id);
    expect(events.filter((e) => e.type === 'APPROVAL_REQUESTED')).toEqual([]);
    expect(events.find((e) => e.type === 'APPROVAL_DECISION')?.data.decision).toBe('policy_allow');
    expect(validateTrace(run.workflow_id, events).valid).toBe(true);
  });

  it('asks a human when the draft says so, even where policy would allow the call', async () => {
    const run = await start('case-3', {
      question: 'A customer wants a refund for a failed checkout; what do I tell them?',
      reply: { tool: 'down.echo', params: {}, text_param: 'text' },
    });
    expect(run).toMatchObject({ status: 'waiting', stage: 'approval' });
    const r = await rt.engine.decide(ctx, {
      approval_id: run.waiting_on!.approval_id as string,
      reviewer_id: reviewer,
      decision: 'reject',
      comment: 'refunds go through billing',
    });
    expect(r.run).toMatchObject({ status: 'completed', stage: 'rejected' });
    const events = await ledger(run.workflow_id);
    expect(events.filter((e) => e.type === 'TOOL_INVOKE')).toEqual([]);
  });

  it('redacts personal data before the model sees it and records token use', async () => {
    const run = await start('case-4', {
      question: 'Customer jane.doe@example.com asks how to restart the checkout service.',
      reply: { tool: 'down.echo', params: {}, text_param: 'text' },
    });
    const events = await ledger(run.workflow_id);
    const agent = events.find(
      (e) => e.type === 'AGENT_INVOKE' && e.data.role === 'response_drafter',
    )!;
    expect(agent.data.redactions).toMatchObject({ email: 1 });
    expect(agent.data.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0 });
    const draft = run.artifacts.draft as { answer: string };
    expect(draft.answer).not.toContain('jane.doe@example.com');
  });

  it('refuses a model outside the tenant allow-list, failing the step with the reason', async () => {
    await rt.store.transaction((tx) =>
      tx.putSetting('default', 'models.allow', '["openai-compatible/x"]'),
    );
    try {
      const run = await start('case-5', {
        question: 'How do I restart the checkout service?',
        reply: { tool: 'down.echo', params: {}, text_param: 'text' },
      });
      expect(run).toMatchObject({ status: 'failed', stage: 'failed' });
      expect(JSON.stringify(run.error)).toContain('MODEL_NOT_ALLOWED');
    } finally {
      await rt.store.transaction((tx) => tx.putSetting('default', 'models.allow', '["rules/v1"]'));
    }
  });
});
