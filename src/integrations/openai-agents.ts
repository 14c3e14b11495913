/**
 * countersign/openai-agents: governs OpenAI Agents SDK function tools with the SDK's own approval
 * flow. A governed tool always needs approval, so a run stops with interruptions;
 * resolveInterruptions proposes each interrupted call to Countersign, waits for a reviewer, and
 * approves or rejects it in the RunState (a rejection carries the reviewer's comment to the
 * model). Run the agent again with the state to continue: an approved call then runs in
 * Countersign (execute_action, at most once) with the approved, possibly edited, parameters.
 *
 * The state can be saved while waiting (`state.toString()`) and restored after a restart
 * (`RunState.fromString(agent, saved)`): resolving it again finds the same proposals, since each
 * is keyed by the tool call's ID.
 *
 * @example
 * ```ts
 * import { Agent, run } from '@openai/agents';
 * import { governTool, resolveInterruptions } from 'countersign/openai-agents';
 *
 * const agent = new Agent({ name: 'ops', tools: [governTool(updateStatus, opts)] });
 * let result = await run(agent, 'Mark the change as started');
 * while (result.interruptions.length > 0) {
 *   const { state } = await resolveInterruptions(result.state, opts);
 *   result = await run(agent, state);
 * }
 * ```
 */
import type { FunctionTool, RunContext, RunState, RunToolApprovalItem } from '@openai/agents';

/* eslint-disable @typescript-eslint/no-explicit-any -- the SDK's own generic defaults */
type AnyFunctionTool = FunctionTool<any, any, any>;
type AnyRunState = RunState<any, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */
import {
  type Decision,
  type Refusal,
  type GovernOptions,
  asParams,
  countersignFailure,
  countersignTool,
  decideCall,
  executeApproved,
  proposeCall,
} from './common.js';

export type { Decision, Executed, GovernOptions, Refusal } from './common.js';

/**
 * Marks a tool governed; resolveInterruptions handles only governed tools. A registered symbol,
 * not a WeakSet, so that two copies of this module (ESM and bundled) agree.
 */
const GOVERNED = Symbol.for('countersign.governed-tool');

function parseArguments(input: string | undefined): Record<string, unknown> {
  if (input === undefined || input.trim() === '') return {};
  return asParams(JSON.parse(input) as unknown);
}

/**
 * The tool, governed: every call needs approval, and an approved call runs in Countersign as the
 * Countersign tool of the same name (or `toolNames[name]`); its result is the tool output.
 */
export function governTool<T extends AnyFunctionTool>(tool: T, options: GovernOptions): T {
  const name = countersignTool(options, tool.name);
  const governed: T = {
    ...tool,
    needsApproval: () => Promise.resolve(true),
    invoke: async (
      _ctx: RunContext<unknown>,
      input: string,
      details?: { toolCall?: { callId?: string }; signal?: AbortSignal },
    ) => {
      const params = parseArguments(input);
      const callId = details?.toolCall?.callId;
      // The SDK runs this only after state.approve(): the same call ID finds the same proposal,
      // and execute_action refuses anything Countersign did not approve.
      const proposed = await proposeCall(options, name, params, callId, details?.signal);
      if ('refusal' in proposed) return JSON.stringify(proposed.refusal);
      const read = await options.client.getProposal({ proposal_id: proposed.proposalId });
      const decision: Decision = {
        kind: 'approved',
        proposalId: proposed.proposalId,
        tool: read.final_tool_call.tool,
        params: read.final_tool_call.params,
        version: read.final_tool_call.version,
        comment: null,
      };
      try {
        return JSON.stringify(await executeApproved(options, decision, details?.signal));
      } catch (e) {
        // Approved in the RunState but not in Countersign (a forged or stale approval): the
        // server refuses to run it, and the model is told so instead of the run failing.
        const failure = countersignFailure(e);
        if (!failure || failure.retryable) throw e;
        const refusal: Refusal = {
          status: 'refused',
          ran: false,
          tool: name,
          proposal_id: proposed.proposalId,
          reviewer_id: null,
          comment: null,
          message: `Countersign refused to run ${name} (${failure.code}): ${failure.message}`,
        };
        return JSON.stringify(refusal);
      }
    },
  };
  Object.defineProperty(governed, GOVERNED, { value: true });
  return governed;
}

/** Governs every tool of a list (see governTool). */
export function governTools<T extends AnyFunctionTool>(
  tools: readonly T[],
  options: GovernOptions,
): T[] {
  return tools.map((t) => governTool(t, options));
}

export interface Resolved<S> {
  readonly state: S;
  /** Each governed interruption with what Countersign decided. */
  readonly decisions: ReadonlyArray<{
    readonly item: RunToolApprovalItem;
    readonly decision: Decision;
  }>;
  /** True when some call is still undecided (timeout): save the state and resolve it later. */
  readonly pending: boolean;
}

/**
 * Proposes each interrupted governed call to Countersign, waits for the decisions and records
 * them in the state: approve, or reject with the reviewer's comment as the model's tool result.
 * Interruptions of tools that are not governed are left for the caller.
 */
export async function resolveInterruptions<S extends AnyRunState>(
  state: S,
  options: GovernOptions,
): Promise<Resolved<S>> {
  const decisions: { item: RunToolApprovalItem; decision: Decision }[] = [];
  let pending = false;
  for (const item of state.getInterruptions()) {
    const toolName = item.name;
    const tools = (item.agent as { tools?: readonly { name?: string }[] }).tools ?? [];
    const tool = tools.find((t) => t.name === toolName);
    if (toolName === undefined || !tool || !isGoverned(tool)) continue;
    const callId = 'callId' in item.rawItem ? item.rawItem.callId : undefined;
    const decision = await decideCall(
      options,
      countersignTool(options, toolName),
      parseArguments(item.arguments),
      callId,
    );
    decisions.push({ item, decision });
    if (decision.kind === 'approved') state.approve(item);
    else if (decision.refusal.status === 'pending') pending = true;
    else state.reject(item, { message: JSON.stringify(decision.refusal) });
  }
  return { state, decisions, pending };
}

/** Whether a tool was made by governTool. */
export function isGoverned(tool: object): boolean {
  return (tool as { [GOVERNED]?: unknown })[GOVERNED] === true;
}
