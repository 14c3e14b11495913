/**
 * LangGraph.js under Countersign (`countersign/langgraph`): a tool node whose calls become
 * proposals, a graph interrupt that waits on the human decision, and a helper that resumes the
 * graph with it.
 *
 * Design decisions:
 * - One node, one interrupt. `governedToolNode` proposes every tool call of the model's last
 *   message, then interrupts once with all the proposals still undecided. LangGraph re-runs a
 *   node from its start on resume, so the proposals carry an Idempotency-Key derived from the
 *   thread, the workflow, the tool call id and its arguments: the re-run gets the same proposals back instead of
 *   new ones (the server keeps keyed answers 24 hours).
 * - The resume value is a wake-up, not a verdict. Whoever calls `graph.invoke(new Command(...))`
 *   could write anything into it, so after resuming the node reads every proposal's status from
 *   Countersign again and acts only on that; a proposal still undecided interrupts again.
 * - Approved calls run where the approval is checked. By default Countersign runs them
 *   (`execute_action`: at most once, hash re-checked, result recorded) and the tool function in
 *   the graph never runs. With `execute: 'local'` the graph's own tool runs with the approved
 *   (possibly edited) parameters, after Countersign said approved.
 * - Rejections, requests for more information and policy denials go back to the model as tool
 *   messages with the reviewer's comment, so it can answer or change course.
 * - The LangGraph packages are optional peers: nothing here imports them at load time, and the
 *   first use without them installed throws DEPENDENCY_MISSING with the install command.
 *
 * @example
 * ```ts
 * import { MemorySaver, MessagesAnnotation, StateGraph } from '@langchain/langgraph';
 * import { createClient } from 'countersign/client';
 * import { governedToolNode, waitAndResume } from 'countersign/langgraph';
 *
 * const client = createClient({ baseUrl: 'http://127.0.0.1:8787', token: process.env.AGENT_TOKEN });
 * const graph = new StateGraph(MessagesAnnotation)
 *   .addNode('agent', callModel)
 *   .addNode('tools', governedToolNode(tools, { client, workflowId: 'workflow_1' }))
 *   .addEdge('__start__', 'agent')
 *   .addConditionalEdges('agent', routeToolsOrEnd)
 *   .addEdge('tools', 'agent')
 *   .compile({ checkpointer: new MemorySaver() });
 * const config = { configurable: { thread_id: 'ticket-42' } };
 * await graph.invoke({ messages: [['user', 'mark the change as started']] }, config);
 * await waitAndResume(graph, config, client); // returns once a human decided in Countersign
 * ```
 */
import type { BaseMessage, ToolMessage } from '@langchain/core/messages';
import type { RunnableConfig } from '@langchain/core/runnables';
import type { StructuredToolInterface } from '@langchain/core/tools';
import type * as LangGraph from '@langchain/langgraph';
import type * as Messages from '@langchain/core/messages';
import { CountersignError, type CountersignClient, type OperationOutput } from '../client/index.js';

/** What Countersign answers about a proposal's decision (the output of `wait_for_decision`). */
export type CountersignDecision = OperationOutput<'wait_for_decision'>;

/** The value of the interrupt a governed tool node raises while humans decide. */
export interface CountersignInterrupt {
  readonly countersign: {
    readonly workflow_id: string;
    readonly proposals: ReadonlyArray<{
      readonly proposal_id: string;
      readonly tool_call_id: string;
      readonly tool: string;
      readonly params: Readonly<Record<string, unknown>>;
    }>;
  };
}

/** The resume value `waitAndResume` sends: the decisions it read, by proposal id. */
export interface CountersignResume {
  readonly decisions: Readonly<Record<string, CountersignDecision>>;
}

export interface GovernOptions {
  /** A client bound to the agent's token (the principal that proposes and executes). */
  readonly client: CountersignClient;
  /** The Countersign workflow the calls belong to. */
  readonly workflowId: string;
  /**
   * Who runs an approved call: `'countersign'` (default) runs it on the server with
   * `execute_action`, at most once; `'local'` runs the graph's own tool with the approved
   * parameters.
   */
  readonly execute?: 'countersign' | 'local';
  /** The reason recorded with each proposal (default: the model's text and the tool call id). */
  readonly reason?: (call: { name: string; args: Record<string, unknown>; id: string }) => string;
  /** The X-Purpose of `execute_action` (default "langgraph: run the approved tool call"). */
  readonly purpose?: string;
}

/** The packages this module loads on first use, with the ranges package.json declares. */
export const LANGGRAPH_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  '@langchain/langgraph': '^1.7.0',
  '@langchain/core': '^1.4.0',
});

/** The command that installs the LangGraph packages beside countersign. */
export const LANGGRAPH_INSTALL = `npm install ${Object.entries(LANGGRAPH_PACKAGES)
  .map(([name, range]) => `${name}@${range}`)
  .join(' ')}`;

interface Framework {
  readonly interrupt: typeof LangGraph.interrupt;
  readonly Command: typeof LangGraph.Command;
  readonly ToolMessage: typeof Messages.ToolMessage;
}

let framework: Promise<Framework> | undefined;

/** The LangGraph runtime pieces, loaded once; DEPENDENCY_MISSING when they are not installed. */
export function loadLangGraph(): Promise<Framework> {
  // One after the other, so the package named missing is always the first one that is.
  framework ??= (async () => {
    const lg = await import('@langchain/langgraph');
    const messages = await import('@langchain/core/messages');
    return { interrupt: lg.interrupt, Command: lg.Command, ToolMessage: messages.ToolMessage };
  })().catch((e: unknown) => {
    framework = undefined;
    throw missingLangGraph(e);
  });
  return framework;
}

/**
 * A failed import of a LangGraph package becomes DEPENDENCY_MISSING naming the package and the
 * install command; anything else is thrown as it was.
 */
export function missingLangGraph(e: unknown): unknown {
  if ((e as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') return e;
  const message = e instanceof Error ? e.message : '';
  const name = /Cannot find (?:package|module) '((?:@[^/'\s]+\/)?[^/'\s]+)/.exec(message)?.[1];
  if (name === undefined || !name.startsWith('@langchain/')) return e;
  return new CountersignError(
    'DEPENDENCY_MISSING',
    `The package ${name} is not installed, and countersign/langgraph needs it. The LangGraph packages are optional: install them beside countersign with\n  ${LANGGRAPH_INSTALL}`,
    0,
    false,
    { package: name, install: LANGGRAPH_INSTALL },
  );
}

interface ToolCallLike {
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly id?: string | undefined;
}

interface Proposed {
  readonly call: ToolCallLike & { readonly id: string };
  /** Set when the call was proposed; absent when the proposal itself was refused. */
  readonly proposal_id?: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** The refusal to tell the model (policy denial, invalid parameters). */
  readonly refused?: string;
}

const DECIDED = new Set(['approved', 'rejected', 'needs_info', 'executed', 'failed']);

/**
 * A LangGraph node for a `MessagesAnnotation`-shaped state: every tool call of the last AI
 * message becomes a Countersign proposal; undecided ones interrupt the graph until a human
 * decides; then approved calls run and each call gets a ToolMessage with the result, or with
 * the refusal and the reviewer's comment.
 */
export function governedToolNode(
  tools: readonly StructuredToolInterface[],
  options: GovernOptions,
): (
  state: { messages: BaseMessage[] },
  config?: RunnableConfig,
) => Promise<{ messages: ToolMessage[] }> {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const mode = options.execute ?? 'countersign';
  const purpose = options.purpose ?? 'langgraph: run the approved tool call';
  const { client, workflowId } = options;

  return async (state, config) => {
    const lg = await loadLangGraph();
    const threadId = config?.configurable?.thread_id as unknown;
    if (typeof threadId !== 'string' && typeof threadId !== 'number')
      throw new CountersignError(
        'VALIDATION_FAILED',
        'A governed tool node needs a thread: invoke the graph with { configurable: { thread_id } } and a checkpointer.',
        0,
        false,
        { issues: [{ path: 'configurable.thread_id', message: 'required' }] },
      );
    const last = state.messages.at(-1);
    const toolCalls: readonly ToolCallLike[] =
      last && 'tool_calls' in last && Array.isArray(last.tool_calls) ? last.tool_calls : [];
    const calls = toolCalls.map((c, i) => ({ ...c, id: c.id ?? `call_${i}` }));
    const text = typeof last?.content === 'string' ? last.content : '';

    const proposed: Proposed[] = [];
    for (const call of calls) proposed.push(await propose(call, String(threadId), text));

    // Wait until Countersign has decided every proposal; the resume value only wakes us up.
    let statuses = await readAll(proposed);
    const undecided = () =>
      proposed.filter((p) => p.proposal_id && !DECIDED.has(statuses.get(p.proposal_id) ?? ''));
    for (let waiting = undecided(); waiting.length > 0; waiting = undecided()) {
      const value: CountersignInterrupt = {
        countersign: {
          workflow_id: workflowId,
          proposals: waiting.map((p) => ({
            proposal_id: p.proposal_id!,
            tool_call_id: p.call.id,
            tool: p.call.name,
            params: p.params ?? p.call.args,
          })),
        },
      };
      lg.interrupt(value);
      statuses = await readAll(proposed);
    }

    const messages: ToolMessage[] = [];
    for (const p of proposed) {
      const answer = p.proposal_id
        ? await outcome(p)
        : { content: p.refused ?? 'Countersign refused the call.', error: true };
      messages.push(
        new lg.ToolMessage({
          content: answer.content,
          tool_call_id: p.call.id,
          name: p.call.name,
          status: answer.error ? 'error' : 'success',
        }),
      );
    }
    return { messages };
  };

  async function propose(
    call: ToolCallLike & { id: string },
    threadId: string,
    text: string,
  ): Promise<Proposed> {
    if (mode === 'local' && !byName.has(call.name))
      return { call, refused: `There is no tool named ${call.name}.` };
    const reason =
      options.reason?.(call) ??
      `${text ? `${text.slice(0, 400)} ` : ''}(LangGraph tool call ${call.id} on thread ${threadId})`;
    try {
      const answer = await client.proposeAction(
        { workflow_id: workflowId, tool: call.name, params: call.args, reason },
        {
          idempotencyKey: await proposalKey([threadId, workflowId, call.id, call.name, call.args]),
        },
      );
      return { call, proposal_id: answer.proposal_id, params: call.args };
    } catch (e) {
      if (
        e instanceof CountersignError &&
        (e.code === 'POLICY_DENIED' || e.code === 'VALIDATION_FAILED')
      )
        return { call, refused: `Countersign refused the call (${e.code}): ${e.message}` };
      throw e;
    }
  }

  /** Each proposal's status as Countersign has it now. */
  async function readAll(proposed: readonly Proposed[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const p of proposed)
      if (p.proposal_id) {
        const { proposal } = await client.getProposal({ proposal_id: p.proposal_id });
        out.set(p.proposal_id, String(proposal.status));
      }
    return out;
  }

  async function outcome(p: Proposed): Promise<{ content: string; error: boolean }> {
    const id = p.proposal_id!;
    // Decided already: this answers at once, with every decision and its comment.
    const decision = await client.waitForDecision({ proposal_id: id, timeout_seconds: 1 });
    const who = decision.decision?.reviewer_id ?? 'a reviewer';
    const said = decision.decisions
      .filter((d) => d.comment)
      .map((d) => `${d.reviewer_id} (${d.decision}): "${d.comment}"`);
    const comments = said.length > 0 ? ` Reviewer's comment: ${said.join('; ')}.` : '';
    if (decision.status === 'rejected')
      return {
        content: `Countersign: ${who} rejected this call (${id}).${comments} Do not retry it unchanged.`,
        error: true,
      };
    if (decision.status === 'needs_info')
      return {
        content: `Countersign: ${who} asked for more information before deciding on this call (${id}).${comments}`,
        error: true,
      };
    const { final_tool_call: approved } = await client.getProposal({ proposal_id: id });
    // A version after the first is a reviewer's edit (or the proposer's revision), approved as such.
    const edited =
      approved.version > 1
        ? ` The reviewer edited the call before approving it; it ran with ${JSON.stringify(approved.params)}.`
        : '';
    const note = `${edited}${comments}`;
    if (mode === 'local') {
      const tool = byName.get(approved.tool);
      if (!tool) return { content: `There is no tool named ${approved.tool}.`, error: true };
      const result: unknown = await tool.invoke(approved.params);
      return {
        content: `${typeof result === 'string' ? result : JSON.stringify(result)}${note}`,
        error: false,
      };
    }
    const { result } = await client.executeAction({ proposal_id: id }, { purpose });
    if (result.status === 'failed')
      return {
        content: `Countersign ran the approved call (${id}) and it failed: ${JSON.stringify(result.error)}.${note}`,
        error: true,
      };
    return {
      content: `Countersign ran the approved call (${id}), ${result.status}: ${JSON.stringify(result.output)}.${note}`,
      error: false,
    };
  }
}

/**
 * The same key for the same call of the same thread, in every process: `lg-` and 64 hex. The
 * arguments are part of it (as the checkpoint stored them, so a re-run gives the same bytes):
 * a model that reuses a tool call id for another call gets another proposal, not a refusal.
 */
async function proposalKey(parts: readonly unknown[]): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(['langgraph', ...parts]));
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0'));
  return `lg-${hex.join('')}`;
}

/**
 * The part of a compiled LangGraph graph `waitAndResume` uses. `invoke` takes the graph's own
 * input type, which always admits a `Command`.
 */
export interface ResumableGraph {
  getState(config: RunnableConfig): Promise<LangGraph.StateSnapshot>;
  invoke(input: never, config: RunnableConfig): Promise<unknown>;
}

export interface WaitOptions {
  /** Seconds per `wait_for_decision` call (1 to 300, default 30); it is called again until decided. */
  readonly pollSeconds?: number;
  /** Stop waiting (the graph stays interrupted, and can be resumed later). */
  readonly signal?: AbortSignal;
}

/** The Countersign interrupts a graph is waiting on (an empty list: none). */
export async function pendingCountersign(
  graph: Pick<ResumableGraph, 'getState'>,
  config: RunnableConfig,
): Promise<
  Array<{ readonly interruptId: string | undefined; readonly value: CountersignInterrupt }>
> {
  const snapshot = await graph.getState(config);
  return snapshot.tasks.flatMap((task) =>
    task.interrupts
      .filter((i) => isCountersignInterrupt(i.value))
      .map((i) => ({ interruptId: i.id, value: i.value as CountersignInterrupt })),
  );
}

/**
 * Waits in Countersign for the decisions the graph's interrupts are waiting on, then resumes
 * the graph with them (`new Command({ resume })`) and returns what the graph returns. Works from
 * any process that has the graph's checkpointer and thread id, e.g. after a restart.
 */
export async function waitAndResume<G extends ResumableGraph>(
  graph: G,
  config: RunnableConfig,
  client: CountersignClient,
  options: WaitOptions = {},
): Promise<Awaited<ReturnType<G['invoke']>>> {
  const lg = await loadLangGraph();
  const pending = await pendingCountersign(graph, config);
  if (pending.length === 0)
    throw new CountersignError(
      'NOT_FOUND',
      'The graph is not waiting on a Countersign decision for this thread.',
      0,
      false,
    );
  const timeout_seconds = options.pollSeconds ?? 30;
  const resumes: Array<{ id: string | undefined; value: CountersignResume }> = [];
  for (const { interruptId, value } of pending) {
    const decisions: Record<string, CountersignDecision> = {};
    for (const { proposal_id } of value.countersign.proposals) {
      for (;;) {
        if (options.signal?.aborted) throw options.signal.reason;
        const answer = await client.waitForDecision(
          { proposal_id, timeout_seconds },
          options.signal ? { signal: options.signal } : {},
        );
        if (DECIDED.has(answer.status)) {
          decisions[proposal_id] = answer;
          break;
        }
      }
    }
    resumes.push({ id: interruptId, value: { decisions } });
  }
  const only = resumes.length === 1 ? resumes[0] : undefined;
  const resume =
    only !== undefined ? only.value : Object.fromEntries(resumes.map((r) => [r.id ?? '', r.value]));
  const command = new lg.Command({ resume });
  return (await graph.invoke(command as never, config)) as Awaited<ReturnType<G['invoke']>>;
}

function isCountersignInterrupt(value: unknown): value is CountersignInterrupt {
  const cs = (value as { countersign?: { proposals?: unknown } } | null | undefined)?.countersign;
  return Array.isArray(cs?.proposals);
}
