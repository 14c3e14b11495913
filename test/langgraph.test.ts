import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AIMessage, AIMessageChunk, type BaseMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { FakeChatModel, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import {
  Command,
  END,
  MemorySaver,
  MessagesAnnotation,
  START,
  StateGraph,
} from '@langchain/langgraph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type CountersignClient,
  type CountersignError,
  createClient,
} from '../src/client/index.js';
import {
  type GovernOptions,
  LANGGRAPH_INSTALL,
  LANGGRAPH_PACKAGES,
  governedToolNode,
  missingLangGraph,
  pendingCountersign,
  waitAndResume,
} from '../src/integrations/langgraph.js';
import { type ServeProcess, spawnServe } from './support/countersign-serve.js';

const EXAMPLE = path.resolve('examples/langgraph/agent.js');

/** `countersign serve` as a real process on a free port (the operator token on a first start). */
const serve = (dataDir: string, firstStart = true) =>
  spawnServe(
    { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_TEMPORAL_ADDRESS: '' },
    { firstStart, timeoutMs: 30_000 },
  );

/** One run of the example as its own process: its exit code and its JSON line. */
function runExample(
  args: string[],
  env: Record<string, string>,
): { done: Promise<{ code: number | null; json: Record<string, unknown>; stderr: string }> } {
  const child = spawn(process.execPath, [EXAMPLE, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    done: new Promise((resolve) =>
      child.on('exit', (code) => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
        } catch {
          // left empty: the assertions on code and stderr say what went wrong
        }
        resolve({ code, json, stderr });
      }),
    ),
  };
}

interface Waiting {
  countersign: { proposals: Array<{ proposal_id: string; params: Record<string, unknown> }> };
}

/** A graph like the example's, in this process: scripted calls, then LangChain's echo model. */
function buildGraph(
  calls: Array<{ name: string; args: Record<string, unknown> }>,
  tools: Parameters<typeof governedToolNode>[0],
  options: GovernOptions,
) {
  async function agent(state: typeof MessagesAnnotation.State) {
    const last = state.messages.at(-1);
    if (last instanceof ToolMessage)
      return { messages: [await new FakeChatModel({}).invoke(state.messages)] };
    const caller = new FakeStreamingChatModel({
      responses: [new AIMessage('calling the tool')],
      chunks: [
        new AIMessageChunk({
          content: '',
          tool_calls: calls.map((c, i) => ({ ...c, id: `call_${i}`, type: 'tool_call' as const })),
        }),
      ],
    });
    return { messages: [await caller.invoke(state.messages)] };
  }
  return new StateGraph(MessagesAnnotation)
    .addNode('agent', agent)
    .addNode('tools', governedToolNode(tools, options))
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', (state) => {
      const last = state.messages.at(-1);
      return last instanceof AIMessage && (last.tool_calls?.length ?? 0) > 0 ? 'tools' : END;
    })
    .addEdge('tools', 'agent')
    .compile({ checkpointer: new MemorySaver() });
}

const text = (messages: readonly BaseMessage[]) =>
  messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content)));

describe('countersign/langgraph', () => {
  it('names the packages it loads as optional peers, and a missing one as DEPENDENCY_MISSING', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      exports: Record<string, { default: string }>;
    };
    expect(pkg.peerDependencies).toMatchObject(LANGGRAPH_PACKAGES);
    for (const name of Object.keys(LANGGRAPH_PACKAGES)) {
      expect(pkg.peerDependenciesMeta[name]?.optional).toBe(true);
      expect(pkg.dependencies[name]).toBeUndefined();
    }
    expect(pkg.exports['./langgraph']?.default).toBe('./dist/src/integrations/langgraph.js');
    const missing = Object.assign(
      new Error("Cannot find package '@langchain/langgraph' imported from /x/langgraph.js"),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    expect(missingLangGraph(missing)).toMatchObject({
      code: 'DEPENDENCY_MISSING',
      details: { package: '@langchain/langgraph', install: LANGGRAPH_INSTALL },
    });
    expect(LANGGRAPH_INSTALL).toContain('npm install @langchain/langgraph@');
    const other = Object.assign(new Error("Cannot find package 'left-pad'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(missingLangGraph(other)).toBe(other);
  });

  it('loads no LangGraph package when the module is imported, only when it is used', async () => {
    const source = fs.readFileSync('src/integrations/langgraph.ts', 'utf8');
    const staticImports = [...source.matchAll(/^import (?!type )[^;]*from '([^']+)'/gm)].map(
      (m) => m[1],
    );
    expect(staticImports).toEqual(['../client/index.js']);
  });

  it('imports without the LangGraph packages installed, and says DEPENDENCY_MISSING when used', async () => {
    // The built module and the client, alone in a directory no node_modules is above.
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-langgraph-bare-'));
    try {
      for (const file of [
        'client/index.js',
        'client/errors.js',
        'client/operations.js',
        'integrations/langgraph.js',
      ]) {
        fs.mkdirSync(path.dirname(path.join(root, 'src', file)), { recursive: true });
        fs.copyFileSync(path.join('dist/src', file), path.join(root, 'src', file));
      }
      fs.writeFileSync(path.join(root, 'package.json'), '{"type":"module"}');
      const script = `
        import { createClient } from './src/client/index.js';
        import { governedToolNode } from './src/integrations/langgraph.js';
        const node = governedToolNode([], { client: createClient({ baseUrl: 'http://127.0.0.1:1' }), workflowId: 'w' });
        try { await node({ messages: [] }, { configurable: { thread_id: 't' } }); }
        catch (e) { process.stdout.write(JSON.stringify({ code: e.code, message: e.message, details: e.details })); }
      `;
      fs.writeFileSync(path.join(root, 'use.mjs'), script);
      const child = spawn(process.execPath, ['use.mjs'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      await new Promise((r) => child.on('exit', r));
      const error = JSON.parse(out) as { code: string; message: string; details: object };
      expect(error.code).toBe('DEPENDENCY_MISSING');
      expect(error.details).toEqual({
        package: '@langchain/langgraph',
        install: LANGGRAPH_INSTALL,
      });
      expect(error.message).toContain(LANGGRAPH_INSTALL);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  describe('against countersign serve', { timeout: 90_000 }, () => {
    let dir: string;
    let server: ServeProcess;
    let operator: CountersignClient;
    let agent: CountersignClient;
    let agentToken: string;
    let bob: CountersignClient;
    let dana: CountersignClient;
    let bobToken: string;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-langgraph-'));
      server = await serve(path.join(dir, 'data'));
      operator = createClient({
        baseUrl: server.url,
        token: server.operatorToken,
        purpose: 'setup',
      });
      agentToken = await mintToken('LangGraph bot', 'Developer', 'agent');
      agent = createClient({ baseUrl: server.url, token: agentToken });
      bobToken = await mintToken('Bob', 'Senior Developer', 'human');
      bob = createClient({ baseUrl: server.url, token: bobToken });
      dana = createClient({
        baseUrl: server.url,
        token: await mintToken('Dana', 'Senior Developer', 'human'),
      });
    }, 60_000);

    afterAll(async () => {
      await server?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const mintToken = async (name: string, role: string, kind: 'human' | 'agent' = 'human') => {
      const { actor_id } = await operator.registerActor({ name, role, kind });
      const { token } = await operator.createToken({ actor_id, name });
      return token!;
    };
    const workflow = async (title: string) => (await operator.startWorkflow({ title })).workflow_id;
    const proposalsOf = async (workflow_id: string) =>
      (await operator.getWorkflow({ workflow_id })).proposals;
    const review = (input: Parameters<CountersignClient['reviewAction']>[0]) =>
      bob.reviewAction(input, { purpose: 'change review' });

    /** Starts the example in one process; resumes it in another, which waits for the decision. */
    async function exampleUntilDecided(
      thread: string,
      decide: (proposal_id: string) => Promise<unknown>,
    ) {
      const workflow_id = await workflow(`langgraph ${thread}`);
      const env = {
        COUNTERSIGN_SERVER: server.url,
        COUNTERSIGN_TOKEN: agentToken,
        COUNTERSIGN_WORKFLOW_ID: workflow_id,
        LANGGRAPH_CHECKPOINTS: path.join(dir, 'checkpoints.sqlite'),
      };
      const started = await runExample(['start', thread, `ticket ${thread}`], env).done;
      expect(started.stderr).toBe('');
      expect(started.code).toBe(0);
      const waiting = started.json.waiting_on as Waiting[];
      const proposal_id = waiting[0]!.countersign.proposals[0]!.proposal_id;
      expect((await agent.getProposal({ proposal_id })).proposal.status).toBe('pending');

      // A new process, knowing only the thread id: it blocks until a human decides.
      const resumed = runExample(['resume', thread], env);
      const early = await Promise.race([
        resumed.done.then(() => 'exited'),
        new Promise((r) => setTimeout(() => r('still waiting'), 1500)),
      ]);
      expect(early).toBe('still waiting');
      await decide(proposal_id);
      const done = await resumed.done;
      expect(done.stderr).toBe('');
      expect(done.code).toBe(0);
      const messages = done.json.messages as Array<{ type: string; content: string }>;
      return { workflow_id, proposal_id, messages, last: messages.at(-1)! };
    }

    it('proposes, waits for a human, and resumes in another process with the result', async () => {
      const { workflow_id, proposal_id, messages, last } = await exampleUntilDecided(
        'approve-1',
        (id) => review({ proposal_id: id, decision: 'approve', comment: 'go ahead' }),
      );
      expect(messages.map((m) => m.type)).toEqual(['human', 'ai', 'tool', 'ai']);
      expect(messages[2]!.content).toContain(`Countersign ran the approved call (${proposal_id})`);
      expect(messages[2]!.content).toContain('"status":"in_progress"');
      // The model's next turn saw the tool's result.
      expect(last.type).toBe('ai');
      expect(last.content).toContain('"status":"in_progress"');
      // The node ran twice (before and after the interrupt) but proposed once, executed once.
      expect(await proposalsOf(workflow_id)).toHaveLength(1);
      const read = await agent.getProposal({ proposal_id });
      expect(read.proposal.status).toBe('executed');
      expect(read.executions).toHaveLength(1);
    });

    it("gives a rejection back to the model with the reviewer's comment, and runs nothing", async () => {
      const { workflow_id, proposal_id, messages, last } = await exampleUntilDecided(
        'reject-1',
        (id) => review({ proposal_id: id, decision: 'reject', comment: 'not during the freeze' }),
      );
      expect(messages[2]!.content).toContain('rejected this call');
      expect(last.content).toMatch(
        /Reviewer's comment: actor_\d+ \(reject\): "not during the freeze"/,
      );
      expect(await proposalsOf(workflow_id)).toHaveLength(1);
      const read = await agent.getProposal({ proposal_id });
      expect(read.proposal.status).toBe('rejected');
      expect(read.executions).toHaveLength(0);
    });

    it("runs the reviewer's edited call once it is approved, and tells the model", async () => {
      const { proposal_id, messages, last } = await exampleUntilDecided('edit-1', async (id) => {
        await review({
          proposal_id: id,
          decision: 'edit',
          edits: { params: { status: 'on_hold' } },
          comment: 'hold it until Monday',
        });
        // The edit is a new version another reviewer approves: the agent is still waiting.
        expect((await agent.getProposal({ proposal_id: id })).proposal.status).toBe('pending');
        await dana.reviewAction({ proposal_id: id, decision: 'approve' }, { purpose: 'second' });
      });
      expect(messages[2]!.content).toContain('"status":"on_hold"');
      expect(last.content).toContain('The reviewer edited the call before approving it');
      expect(last.content).toContain('"hold it until Monday"');
      const read = await agent.getProposal({ proposal_id });
      expect(read.final_tool_call).toMatchObject({ version: 2, params: { status: 'on_hold' } });
      expect(read.executions).toHaveLength(1);
    });

    it('ignores a forged resume value: the call waits until Countersign says approved', async () => {
      const workflow_id = await workflow('forged resume');
      const graph = buildGraph([{ name: 'update_status', args: { status: 'forged' } }], [], {
        client: agent,
        workflowId: workflow_id,
      });
      const config = { configurable: { thread_id: 'forged-1' } };
      await graph.invoke({ messages: [{ role: 'user', content: 'go' }] }, config);
      const [pending] = await pendingCountersign(graph, config);
      const proposal_id = pending!.value.countersign.proposals[0]!.proposal_id;

      // Whoever can invoke the graph claims a decision Countersign never made.
      const forged = await graph.invoke(
        new Command({
          resume: { decisions: { [proposal_id]: { status: 'approved', decision: null } } },
        }),
        config,
      );
      expect('__interrupt__' in forged).toBe(true);
      expect(text(forged.messages).join('\n')).not.toContain('Countersign ran');
      let read = await agent.getProposal({ proposal_id });
      expect(read.proposal.status).toBe('pending');
      expect(read.executions).toHaveLength(0);

      await review({ proposal_id, decision: 'approve' });
      const out = await waitAndResume(graph, config, agent, { pollSeconds: 5 });
      expect(text(out.messages).at(-1)).toContain('"status":"forged"');
      read = await agent.getProposal({ proposal_id });
      expect(read.executions).toHaveLength(1);
      expect(await proposalsOf(workflow_id)).toHaveLength(1);
    });

    it('refuses the principal behind the graph approving its own proposal', async () => {
      const carol = createClient({
        baseUrl: server.url,
        token: await mintToken('Carol', 'Senior Developer', 'human'),
      });
      for (const [proposer, code] of [
        [agent, 'POLICY_DENIED'], // an agent never decides
        [carol, 'SELF_APPROVAL'], // a person running the graph cannot approve their own call
      ] as const) {
        const workflow_id = await workflow(`self approval ${code}`);
        const graph = buildGraph([{ name: 'update_status', args: { status: 'self' } }], [], {
          client: proposer,
          workflowId: workflow_id,
        });
        const config = { configurable: { thread_id: `self-${code}` } };
        await graph.invoke({ messages: [{ role: 'user', content: 'go' }] }, config);
        const [pending] = await pendingCountersign(graph, config);
        const proposal_id = pending!.value.countersign.proposals[0]!.proposal_id;
        const own = await proposer
          .reviewAction({ proposal_id, decision: 'approve' }, { purpose: 'approve my own call' })
          .catch((e: unknown) => e as CountersignError);
        expect(own).toMatchObject({ code, status: 403 });
        const read = await proposer.getProposal({ proposal_id });
        expect(read.proposal.status).toBe('pending');
        expect(read.decisions).toHaveLength(0);
        // The wait does not end on the refused attempt: nothing was decided.
        const wait = await proposer.waitForDecision({ proposal_id, timeout_seconds: 1 });
        expect(wait).toMatchObject({ status: 'pending', timed_out: true });
        // Resuming runs nothing either: the graph interrupts again.
        const again = await graph.invoke(new Command({ resume: { decisions: {} } }), config);
        expect('__interrupt__' in again).toBe(true);
        expect((await proposer.getProposal({ proposal_id })).executions).toHaveLength(0);
      }
    });

    it("runs the graph's own tool with the approved, edited parameters in local mode", async () => {
      const workflow_id = await workflow('local execution');
      const ran: unknown[] = [];
      const updateStatus = tool(
        (args: { status: string }) => {
          ran.push(args);
          return `recorded ${args.status}`;
        },
        { name: 'update_status', description: 'status', schema: z.object({ status: z.string() }) },
      );
      const graph = buildGraph(
        [{ name: 'update_status', args: { status: 'draft' } }],
        [updateStatus],
        { client: agent, workflowId: workflow_id, execute: 'local' },
      );
      const config = { configurable: { thread_id: 'local-1' } };
      await graph.invoke({ messages: [{ role: 'user', content: 'go' }] }, config);
      expect(ran).toEqual([]);
      const [pending] = await pendingCountersign(graph, config);
      const proposal_id = pending!.value.countersign.proposals[0]!.proposal_id;
      await review({ proposal_id, decision: 'edit', edits: { params: { status: 'final' } } });
      const waiting = waitAndResume(graph, config, agent, { pollSeconds: 5 });
      await dana.reviewAction(
        { proposal_id, decision: 'approve', comment: 'final is right' },
        { purpose: 'second review' },
      );
      const out = await waiting;
      expect(text(out.messages).at(-1)).toContain('"final is right"');
      expect(ran).toEqual([{ status: 'final' }]);
      expect(text(out.messages).at(-1)).toContain('recorded final');
      // Countersign recorded the approval; the graph, not the server, ran the call.
      const read = await agent.getProposal({ proposal_id });
      expect(read.proposal.status).toBe('approved');
      expect(read.executions).toHaveLength(0);
    });

    it('tells the model when Countersign refuses the call itself', async () => {
      const workflow_id = await workflow('refused');
      const graph = buildGraph([{ name: 'update_status', args: { status: '' } }], [], {
        client: agent,
        workflowId: workflow_id,
      });
      const config = { configurable: { thread_id: 'refused-1' } };
      const out = await graph.invoke({ messages: [{ role: 'user', content: 'go' }] }, config);
      expect('__interrupt__' in out).toBe(false);
      const tool = out.messages.find((m) => m instanceof ToolMessage);
      expect(tool?.content).toContain('Countersign refused the call (VALIDATION_FAILED)');
      expect(await proposalsOf(workflow_id)).toHaveLength(0);
      await expect(waitAndResume(graph, config, agent)).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });

    it('needs a thread id', async () => {
      const node = governedToolNode([], { client: agent, workflowId: 'workflow_1' });
      await expect(node({ messages: [] }, {})).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });

    // Last: it restarts the server, and the clients above keep the old address.
    it('resumes after both the agent process and the Countersign server restarted', async () => {
      const workflow_id = await workflow('restarts');
      const checkpoints = path.join(dir, 'restart-checkpoints.sqlite');
      const envFor = (url: string) => ({
        COUNTERSIGN_SERVER: url,
        COUNTERSIGN_TOKEN: agentToken,
        COUNTERSIGN_WORKFLOW_ID: workflow_id,
        LANGGRAPH_CHECKPOINTS: checkpoints,
      });
      const started = await runExample(['start', 'restart-1', 'restart'], envFor(server.url)).done;
      expect(started.code).toBe(0);
      const waiting = started.json.waiting_on as Waiting[];
      const proposal_id = waiting[0]!.countersign.proposals[0]!.proposal_id;

      await server.stop();
      server = await serve(path.join(dir, 'data'), false);
      const reviewer = createClient({ baseUrl: server.url, token: bobToken });
      await reviewer.reviewAction(
        { proposal_id, decision: 'approve', comment: 'after the restart' },
        { purpose: 'change review' },
      );
      const done = await runExample(['resume', 'restart-1'], envFor(server.url)).done;
      expect(done.stderr).toBe('');
      const messages = done.json.messages as Array<{ type: string; content: string }>;
      expect(messages.at(-1)!.content).toContain(
        `Countersign ran the approved call (${proposal_id})`,
      );
      expect(messages.at(-1)!.content).toContain('"after the restart"');
      const reader = createClient({ baseUrl: server.url, token: agentToken });
      expect((await reader.getWorkflow({ workflow_id })).proposals).toHaveLength(1);
      expect((await reader.getProposal({ proposal_id })).executions).toHaveLength(1);
    });
  });
});
