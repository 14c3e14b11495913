/**
 * countersign/ai-sdk: governs a Vercel AI SDK tool set. Each tool call the model makes becomes a
 * Countersign proposal; the tool's execute waits for a reviewer's decision and then
 * - approved: the approved call runs (a reviewer's edits included) and its result goes back to
 *   the model as the tool result;
 * - rejected, more information requested, denied by policy or undecided in time: nothing runs,
 *   and the model gets a refusal object with the reviewer's comment as the tool result.
 *
 * By default the call runs in Countersign (execute_action: at most once, recorded in the ledger)
 * and the tool must be a Countersign tool of the same name (or mapped with toolNames). With
 * `execution: 'local'` the tool's own execute runs instead, with the approved parameters;
 * Countersign then records the proposal and the decision, not the execution.
 *
 * @example
 * ```ts
 * import { generateText, tool, stepCountIs } from 'ai';
 * import { createClient } from 'countersign/client';
 * import { governTools } from 'countersign/ai-sdk';
 *
 * const client = createClient({ baseUrl: process.env.COUNTERSIGN_URL!, token: process.env.COUNTERSIGN_TOKEN });
 * const tools = governTools({ update_status: tool({ inputSchema: z.object({ status: z.string() }) }) },
 *   { client, workflowId: 'workflow_1' });
 * await generateText({ model, tools, prompt: 'Mark the change as started', stopWhen: stepCountIs(3) });
 * ```
 */
import type { Tool, ToolExecutionOptions, ToolSet } from 'ai';
import {
  type Execution,
  type GovernOptions,
  asParams,
  countersignTool,
  decideCall,
  executeApproved,
} from './common.js';

export type { Decision, Executed, Execution, GovernOptions, Refusal } from './common.js';

export interface GovernToolsOptions extends GovernOptions {
  /** Where approved calls run: in Countersign (default) or the tool's own execute. */
  readonly execution?: Execution | Readonly<Record<string, Execution>>;
}

function executionFor(options: GovernToolsOptions, name: string): Execution {
  const e = options.execution;
  if (e === undefined) return 'countersign';
  if (typeof e === 'string') return e;
  return e[name] ?? 'countersign';
}

/** The same tool set, every call governed by Countersign. */
export function governTools<T extends ToolSet>(tools: T, options: GovernToolsOptions): T {
  const governed: Record<string, Tool> = {};
  for (const [name, original] of Object.entries(tools) as [string, Tool][]) {
    const execution = executionFor(options, name);
    const local = original.execute as
      ((input: unknown, o: ToolExecutionOptions) => unknown) | undefined;
    if (execution === 'local' && !local)
      throw new TypeError(`governTools: ${name} has no execute to run locally.`);
    const tool = countersignTool(options, name);
    const execute = async (input: unknown, o: ToolExecutionOptions): Promise<unknown> => {
      const decision = await decideCall(
        options,
        tool,
        asParams(input),
        o.toolCallId,
        o.abortSignal,
      );
      if (decision.kind === 'refused') return decision.refusal;
      if (execution === 'local' && local) return await local(decision.params, o);
      return executeApproved(options, decision, o.abortSignal);
    };
    // needsApproval is Countersign's to answer: the SDK's own approval step would ask twice.
    governed[name] = { ...original, needsApproval: false, execute };
  }
  return governed as T;
}
