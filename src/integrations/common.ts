/**
 * What the agent-framework adapters (countersign/ai-sdk, countersign/openai-agents) share: a
 * tool call made by a model becomes a Countersign proposal, the adapter waits for a reviewer's
 * decision, and the outcome is turned into something the model can read.
 *
 * Design decisions:
 * - The adapters talk to the server only through the typed client, with the agent's token. They
 *   propose, wait and execute; they never decide. A reviewer decides elsewhere (console, CLI,
 *   HTTP, MCP), and the server refuses an agent that tries to approve its own call.
 * - A proposal carries an Idempotency-Key made from the workflow and the framework's tool-call ID,
 *   so proposing the same call again (a retried step, a run resumed after a restart) finds the
 *   same proposal instead of opening a second one.
 * - The call that runs is the one Countersign approved: after an "edit" decision that is the
 *   edited version, read back from the server (final_tool_call), never the model's first draft.
 */
import type { ClientErrorCode, CountersignClient, OperationOutput } from '../client/index.js';

/**
 * A Countersign client error, told by its shape rather than instanceof: a program can hold two
 * copies of the client (its own and the adapter's, or an ESM and a bundled copy).
 */
export function countersignFailure(e: unknown): {
  readonly code: ClientErrorCode;
  readonly retryable: boolean;
  readonly message: string;
} | null {
  if (!(e instanceof Error) || e.name !== 'CountersignError') return null;
  const { code, retryable } = e as Error & { code?: unknown; retryable?: unknown };
  if (typeof code !== 'string' || typeof retryable !== 'boolean') return null;
  return { code: code as ClientErrorCode, retryable, message: e.message };
}

/** Where an approved call runs. */
export type Execution = 'countersign' | 'local';

export interface GovernOptions {
  /** A client with the agent's token (`createClient` from countersign/client). */
  readonly client: CountersignClient;
  /** The workflow the calls belong to (`start_workflow`). */
  readonly workflowId: string;
  /** The reason recorded with each proposal (default: "<agent> calls <tool>"). */
  readonly reason?: string | ((tool: string, params: Readonly<Record<string, unknown>>) => string);
  /** A name for the agent, used in the default reason (default "agent"). */
  readonly agent?: string;
  /** How long to wait for a decision in all, in milliseconds (default 10 minutes). */
  readonly timeoutMs?: number;
  /** How long each wait_for_decision long-poll lasts, 1 to 300 seconds (default 30). */
  readonly pollSeconds?: number;
  /** The Countersign tool name for a framework tool name, when they differ. */
  readonly toolNames?: Readonly<Record<string, string>>;
  /** The X-Purpose recorded with each execution (default "agent tool call"). */
  readonly purpose?: string;
}

/** A decided (or still undecided) call. */
export type Decision =
  | {
      readonly kind: 'approved';
      readonly proposalId: string;
      readonly tool: string;
      /** The approved parameters: the edited ones when a reviewer edited the call. */
      readonly params: Record<string, unknown>;
      readonly version: number;
      readonly comment: string | null;
    }
  | { readonly kind: 'refused'; readonly refusal: Refusal };

/** What the model reads when its call did not run. */
export interface Refusal {
  /** rejected, needs_info, denied (by policy), pending (no decision in time) or failed. */
  readonly status: string;
  readonly ran: false;
  readonly tool: string;
  readonly proposal_id: string | null;
  readonly reviewer_id: string | null;
  readonly comment: string | null;
  /** One sentence for the model. */
  readonly message: string;
}

type WaitOutput = OperationOutput<'wait_for_decision'>;

const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** The Countersign tool a framework tool stands for. */
export function countersignTool(options: GovernOptions, name: string): string {
  const mapped = options.toolNames?.[name];
  return mapped ?? name;
}

/** An Idempotency-Key (1 to 200 printable ASCII characters) for one framework tool call. */
export function proposalKey(workflowId: string, tool: string, callId: string): string {
  const key = `countersign-agent:${workflowId}:${tool}:${callId}`.replace(/[^\x21-\x7e]/g, '_');
  return key.length <= 200 ? key : key.slice(0, 200);
}

/** Reads a tool call's arguments as the object Countersign takes as params. */
export function asParams(input: unknown): Record<string, unknown> {
  if (typeof input === 'object' && input !== null && !Array.isArray(input))
    return { ...(input as Record<string, unknown>) };
  if (input === undefined || input === null) return {};
  throw new TypeError('A governed tool takes an object of named arguments.');
}

function reasonFor(options: GovernOptions, tool: string, params: Record<string, unknown>): string {
  if (typeof options.reason === 'function') return options.reason(tool, params);
  return options.reason ?? `${options.agent ?? 'agent'} calls ${tool}`;
}

/** Proposes a call; the same callId finds the same proposal again. */
export async function proposeCall(
  options: GovernOptions,
  tool: string,
  params: Record<string, unknown>,
  callId: string | undefined,
  signal?: AbortSignal,
): Promise<{ proposalId: string } | { refusal: Refusal }> {
  try {
    const proposed = await options.client.proposeAction(
      { workflow_id: options.workflowId, tool, params, reason: reasonFor(options, tool, params) },
      {
        ...(callId !== undefined
          ? { idempotencyKey: proposalKey(options.workflowId, tool, callId) }
          : {}),
        ...(signal ? { signal } : {}),
      },
    );
    return { proposalId: proposed.proposal_id };
  } catch (e) {
    // Policy said no before anyone reviewed: the model learns why, nothing ran.
    const failure = countersignFailure(e);
    if (failure?.code === 'POLICY_DENIED')
      return {
        refusal: {
          status: 'denied',
          ran: false,
          tool,
          proposal_id: null,
          reviewer_id: null,
          comment: null,
          message: `Countersign policy denied ${tool}: ${failure.message} The call did not run.`,
        },
      };
    throw e;
  }
}

/** Long-polls wait_for_decision until the proposal is decided or the time is up. */
export async function waitDecided(
  options: GovernOptions,
  proposalId: string,
  signal?: AbortSignal,
): Promise<WaitOutput> {
  const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const poll = Math.min(300, Math.max(1, Math.floor(options.pollSeconds ?? 30)));
  for (;;) {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    const answer = await options.client.waitForDecision(
      { proposal_id: proposalId, timeout_seconds: Math.min(poll, Math.max(1, left)) },
      signal ? { signal } : {},
    );
    if (answer.status !== 'pending' || Date.now() >= deadline) return answer;
    if (signal?.aborted) return answer;
  }
}

function refusalOf(tool: string, proposalId: string, answer: WaitOutput): Refusal {
  const d = answer.decision;
  const said = d?.comment ? ` The reviewer said: "${d.comment}".` : '';
  const message =
    answer.status === 'rejected'
      ? `A reviewer rejected ${tool} in Countersign.${said} The call did not run.`
      : answer.status === 'needs_info'
        ? `A reviewer asked for more information before ${tool} can run.${said} The call did not run.`
        : answer.status === 'pending'
          ? `No reviewer decided ${tool} in time (proposal ${proposalId} is still pending). The call did not run.`
          : `${tool} did not run: the proposal is ${answer.status}.${said}`;
  return {
    status: answer.status,
    ran: false,
    tool,
    proposal_id: proposalId,
    reviewer_id: d?.reviewer_id ?? null,
    comment: d?.comment ?? null,
    message,
  };
}

/**
 * Proposes a call and waits for its decision: approved (with the approved, possibly edited,
 * params) or refused (with the reviewer's comment).
 */
export async function decideCall(
  options: GovernOptions,
  tool: string,
  params: Record<string, unknown>,
  callId: string | undefined,
  signal?: AbortSignal,
): Promise<Decision> {
  const proposed = await proposeCall(options, tool, params, callId, signal);
  if ('refusal' in proposed) return { kind: 'refused', refusal: proposed.refusal };
  const answer = await waitDecided(options, proposed.proposalId, signal);
  if (answer.status !== 'approved' && answer.status !== 'executed')
    return { kind: 'refused', refusal: refusalOf(tool, proposed.proposalId, answer) };
  const read = await options.client.getProposal({ proposal_id: proposed.proposalId });
  return {
    kind: 'approved',
    proposalId: proposed.proposalId,
    tool: read.final_tool_call.tool,
    params: read.final_tool_call.params,
    version: read.final_tool_call.version,
    comment: answer.decision?.comment ?? null,
  };
}

/** What the model reads after Countersign ran an approved call. */
export interface Executed {
  readonly status: 'succeeded' | 'failed' | 'simulated' | 'started';
  readonly ran: boolean;
  readonly tool: string;
  readonly proposal_id: string;
  readonly execution_id: string;
  /** The parameters that ran (a reviewer's edits included). */
  readonly params: Record<string, unknown>;
  readonly output: Record<string, unknown> | null;
  readonly error: Record<string, unknown> | null;
  readonly comment: string | null;
}

/** Runs an approved call on the server, at most once (a second call returns the first result). */
export async function executeApproved(
  options: GovernOptions,
  decision: Extract<Decision, { kind: 'approved' }>,
  signal?: AbortSignal,
): Promise<Executed> {
  const done = await options.client.executeAction(
    { proposal_id: decision.proposalId },
    { purpose: options.purpose ?? 'agent tool call', ...(signal ? { signal } : {}) },
  );
  return {
    status: done.result.status,
    ran: done.result.status !== 'simulated',
    tool: done.result.tool,
    proposal_id: decision.proposalId,
    execution_id: done.execution_id,
    params: decision.params,
    output: done.result.output,
    error: done.result.error,
    comment: decision.comment,
  };
}
