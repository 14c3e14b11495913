import type { z } from 'zod';
import type { JsonObject, JsonValue } from '../core/model.js';
import type { RoleQuorum } from '../core/quorum.js';
import type { StartAction } from '../core/workflow-ops.js';
import { PLAN_ARTIFACT } from './plan-brief.js';
import type { PlanCheck } from './plan-checks.js';

/**
 * A workflow is declared once, as data plus pure functions of the run state, and run by one
 * interpreter on either runtime (embedded or Temporal). Functions in a definition must be
 * deterministic: no clock, no randomness, no I/O; they see only the run state.
 */

/** What a definition's functions see. */
export interface RunState<I = JsonObject> {
  readonly id: string;
  readonly tenant_id: string;
  readonly input: I;
  readonly started_by: string;
  readonly stage: string;
  /** Validated agent outputs and step results, by artifact name. */
  readonly artifacts: Readonly<Record<string, JsonValue>>;
  /** Comments of reviewers who asked for more information, per gate, oldest first. */
  readonly feedback: Readonly<Record<string, readonly string[]>>;
  /** Calls proposed by each `propose` step (the latest attempt). */
  readonly proposals: Readonly<Record<string, readonly ProposedCall[]>>;
  /** Whether any call of the run needs a human decision (seed 001's approval_required). */
  readonly approval_required: boolean;
  /** Set once the main steps end: completed, rejected (at a gate) or failed. */
  readonly outcome: 'completed' | 'rejected' | 'failed' | null;
  /** Human decisions and tool write-backs so far, in order (the run's trace). */
  readonly trace: readonly JsonObject[];
}

export interface PlannedCall {
  readonly tool: string;
  readonly params: JsonObject;
  /** Why the call is made (recorded with the proposal). */
  readonly reason: string;
  /** A label the run's trace and report use, e.g. the plan step's ID. */
  readonly label: string;
  /** When true, the call only runs to undo earlier ones after a failure. */
  readonly rollback_for?: string | undefined;
}

export interface ProposedCall {
  readonly label: string;
  readonly tool: string;
  readonly proposal_id: string;
  readonly hash: string;
  /** `approved` when policy allowed the call without review. */
  readonly status: 'pending' | 'approved';
  readonly required_approvals: number;
  readonly required_roles: readonly string[];
  readonly rollback_for: string | null;
}

type Fn<I, T> = (run: RunState<I>) => T;

export interface StageStep<I> {
  readonly kind: 'stage';
  readonly id: string;
  readonly stage: string | Fn<I, string>;
}

export interface AgentStep<I> {
  readonly kind: 'agent';
  readonly id: string;
  /** The agent role, e.g. `risk_agent`; also what the rules provider dispatches on. */
  readonly role: string;
  /** Name of the artifact the validated output is stored as. */
  readonly artifact: string;
  readonly instructions: string;
  /** Validates the agent's output; its JSON Schema is sent to the model. */
  readonly output: z.ZodType;
  readonly input: Fn<I, JsonObject>;
  /**
   * A declared exception to redaction: dot-separated paths into `input` (e.g.
   * `intake.requested_by`) the model sees as they are when all they hold is an email address or
   * a phone number, for a fact the agent must copy into what it writes. Anything else there (a
   * secret, a card number) is still redacted; AGENT_INVOKE records the paths revealed.
   */
  readonly reveal?: readonly string[];
  /**
   * Tools the agent may ask for before it answers (each also in the definition's
   * `allowed_tools`). Each call is governed: read tools run when policy allows them without
   * review; anything else is refused and the refusal is the tool's result.
   */
  readonly tools?: readonly string[];
  /** Model turns the agent may take with tools before it must answer (1..20, default 6). */
  readonly max_turns?: number;
  /**
   * Marks the output agent of a plan-only (`proposal_only`) definition: its answer is a
   * ChangeProposalBrief (`output: changeProposalBrief`). The answer is held to the plan
   * invariants like any answer to its schema (a broken one is retried once, then the step
   * fails naming the invariant); then the engine saves it as the run's `plan_brief` artifact
   * (src/engine/plan-reads.ts): each phase's calls dry-run (a call that cannot be made blocks
   * its phase, never drops it) and `read_digest` filled from the reads the run's agents made.
   * `expected_phases`: phase IDs the plan must keep (e.g. the planner's), for NO_PHASE_DROPPED.
   */
  readonly saves_plan?: { readonly expected_phases?: Fn<I, readonly string[]> };
}

/** Model turns an agent with tools may take when its step does not say. */
export const DEFAULT_MAX_TURNS = 6;
export const MAX_TURNS_LIMIT = 20;

export interface ProposeStep<I> {
  readonly kind: 'propose';
  readonly id: string;
  /** The agent (role) the calls are proposed as; the proposer never approves them. */
  readonly as: string;
  /** The agent step whose invocation the calls belong to. */
  readonly invocation_of: string;
  readonly calls: Fn<I, readonly PlannedCall[]>;
}

export interface GateTimeout {
  readonly after_ms: number;
  /** Settle the gate with this outcome (approve only for gates that bind no calls)… */
  readonly outcome?: 'approve' | 'reject';
  /** …or hand it to these roles instead (it then waits without a deadline). */
  readonly escalate_to?: readonly string[];
}

export interface GateStep<I> {
  readonly kind: 'gate';
  readonly id: string;
  readonly title: Fn<I, string>;
  readonly packet: Fn<I, JsonObject>;
  readonly approvals?: Fn<I, number>;
  readonly roles?: Fn<I, readonly string[]>;
  /**
   * Approvals per role (core/quorum.ts), e.g. `{ change_manager: 1, security: 1 }` for "all
   * of": each role fills its own slots, on top of `approvals` and `roles`. Undefined: any-of.
   */
  readonly quorum?: Fn<I, RoleQuorum | undefined>;
  /**
   * Who else may not decide this gate, beside the run's starter: e.g. who requested the plan
   * an activation carries out. Recorded on the gate; policy cannot lift it.
   */
  readonly authors?: Fn<I, readonly string[]>;
  /** The `propose` step whose calls this gate approves, each bound by its hash. */
  readonly binds?: string;
  /** Ask only when this holds (default: always). */
  readonly when?: Fn<I, boolean>;
  readonly timeout?: GateTimeout;
  /** Stage the run ends in when the gate is rejected or times out. */
  readonly on_reject: { readonly stage: string };
  /** Step to go back to when a reviewer asks for more information. */
  readonly on_more_info?: { readonly goto: string };
}

export interface WaitStep<I> {
  readonly kind: 'wait';
  readonly id: string;
  /** Wait until this time (no wait when null or past). */
  readonly until: Fn<I, string | null>;
  /** Fail the run when this time has already passed on arrival (e.g. a window's end). */
  readonly fail_after?: Fn<I, string | null>;
}

export interface ExecuteStep<I> {
  readonly kind: 'execute';
  readonly id: string;
  /** The `propose` step whose approved calls run, in order. */
  readonly from: string;
  /** The agent role the executions are attributed to (its invocation is recorded). */
  readonly as: string;
  /** No call starts after this time; the rest are abandoned and rolled back. */
  readonly deadline?: Fn<I, string | null>;
  /** Stage the run ends in when a call fails (after the rollback calls ran). */
  readonly on_failure: { readonly stage: string };
}

export interface RetrieveStep<I> {
  readonly kind: 'retrieve';
  readonly id: string;
  readonly artifact: string;
  readonly query: Fn<I, string>;
  readonly limit?: number;
}

export interface NotifyStep<I> {
  readonly kind: 'notify';
  readonly id: string;
  readonly channel: Fn<I, string>;
  readonly message: Fn<I, string>;
}

export interface WhenStep<I> {
  readonly kind: 'when';
  readonly id: string;
  readonly if: Fn<I, boolean>;
  readonly then: readonly Step<I>[];
  readonly else?: readonly Step<I>[];
}

/**
 * Loads an approved plan (a plan-only run's saved `plan_brief`) into the run: refuses one that
 * is missing, not approved, or not the version `plan_hash` names. Its output is the artifact.
 */
export interface LoadPlanStep<I> {
  readonly kind: 'load_plan';
  readonly id: string;
  readonly plan_run_id: Fn<I, string>;
  readonly plan_hash: Fn<I, string>;
  /** The agent role the plan's calls are proposed as (its invocation is recorded here). */
  readonly as: string;
  readonly artifact: string;
  /** The artifact `{ digest, results }` the first check of the plan's reads expects. */
  readonly baseline: string;
}

/** A read a plan made, as a step sees it (src/engine/plan-reads.ts PlanRead). */
export interface ReadCall {
  readonly tool: string;
  readonly params: JsonObject;
}

/**
 * Makes a plan's reads again (each read tool's dry run) and compares the digest of what they
 * return with `expected`. `expect: 'same'` fails the run with PLAN_STALE on any difference;
 * `expect: 'record'` (after a phase ran) records what changed, and the new digest becomes the
 * one the next check expects.
 */
export interface CheckReadsStep<I> {
  readonly kind: 'check_reads';
  readonly id: string;
  readonly phase: string;
  readonly reads: Fn<I, readonly ReadCall[]>;
  readonly expected: Fn<I, string>;
  readonly expect: 'same' | 'record';
  /** Criteria to report on (free text: each is recorded as checked or not, and why). */
  readonly criteria?: Fn<I, readonly string[]>;
  /**
   * Acceptance checks to run after the reads (src/engine/plan-checks.ts): their reads are made
   * the same governed way, each check is evaluated, and any that fails fails the step with
   * ACCEPTANCE_FAILED. A criterion a check states is recorded as checked; the rest stay words.
   */
  readonly checks?: Fn<I, readonly PlanCheck[]>;
  /** The artifact the reads and their digest are stored as. */
  readonly artifact: string;
  /** An artifact `{ digest, results }` the digest found is stored under (what later checks expect). */
  readonly baseline?: string;
}

/**
 * Runs steps once per item of a list taken from the run state (e.g. each phase of a loaded
 * plan), in order. The steps are a pure function of the item: the same state gives the same
 * steps on replay. Their IDs must be unique across all items.
 */
export interface EachStep<I> {
  readonly kind: 'each';
  readonly id: string;
  readonly items: Fn<I, readonly JsonObject[]>;
  readonly steps: (item: JsonObject, index: number) => readonly Step<I>[];
}

export type Step<I> =
  | LoadPlanStep<I>
  | CheckReadsStep<I>
  | EachStep<I>
  | StageStep<I>
  | AgentStep<I>
  | ProposeStep<I>
  | GateStep<I>
  | WaitStep<I>
  | ExecuteStep<I>
  | RetrieveStep<I>
  | NotifyStep<I>
  | WhenStep<I>;

export interface WorkflowDefinition<I = JsonObject> {
  /** `[a-z][a-z0-9_]*`, e.g. `ops_change_control`. */
  readonly name: string;
  /** Bump when the steps change: running workflows replay their recorded effects. */
  readonly version: string;
  readonly title: (input: I) => string;
  readonly description: string;
  readonly input: z.ZodType<I>;
  readonly initial_stage: string;
  /** Tools the run may call (seed 001's allowed_tools). */
  readonly allowed_tools: (input: I) => readonly string[];
  readonly case_id?: (input: I) => string | null;
  readonly steps: readonly Step<I>[];
  /** Steps that run however the main steps end (the audit report, the closing stage). */
  readonly finally?: readonly Step<I>[];
  /** The stage a completed run ends in. */
  readonly final_stage: string;
  /**
   * `proposal_only`: a plan-only workflow. It reads, drafts a plan and ends at a human gate;
   * it never executes anything (checked when registered: src/engine/plan-only.ts).
   */
  readonly archetype?: 'proposal_only';
  /**
   * The policy action that starts a run of it, by whichever door: `workflow.start` unless it
   * says otherwise. An approved plan's activation says `plan.activate`, so starting its run
   * with start_workflow_run takes the same permission as activate_plan.
   */
  readonly start_action?: StartAction;
}

/** Checks a definition's structure once, when it is registered. */
export function validateDefinition<I>(def: WorkflowDefinition<I>): void {
  const ids = new Set<string>();
  const problems: string[] = [];
  const visit = (steps: readonly Step<I>[], top: boolean) => {
    for (const s of steps) {
      if (ids.has(s.id)) problems.push(`step id "${s.id}" is used twice`);
      ids.add(s.id);
      if (s.kind === 'when') {
        visit(s.then, false);
        if (s.else) visit(s.else, false);
      }
      if (s.kind === 'gate' && s.on_more_info && !top)
        problems.push(`gate "${s.id}" inside a condition cannot loop back`);
      // Steps made at run time cannot be checked against the plan-only rules beforehand.
      if (def.archetype === 'proposal_only' && (s.kind === 'each' || s.kind === 'load_plan'))
        problems.push(`a plan-only workflow cannot have ${s.kind} step "${s.id}"`);
      if (s.kind === 'gate' && s.binds && s.timeout?.outcome === 'approve')
        problems.push(`gate "${s.id}" binds calls and cannot approve them on timeout`);
    }
  };
  visit(def.steps, true);
  if (def.finally) visit(def.finally, false);
  const top = new Set(def.steps.map((s) => s.id));
  for (const s of def.steps)
    if (s.kind === 'gate' && s.on_more_info && !top.has(s.on_more_info.goto))
      problems.push(`gate "${s.id}" loops back to unknown step "${s.on_more_info.goto}"`);
  if (!/^[a-z][a-z0-9_]{0,63}$/.test(def.name)) problems.push(`bad definition name "${def.name}"`);
  problems.push(...agentToolProblems(def, null));
  const savers = agentSteps([...def.steps, ...(def.finally ?? [])]).filter((s) => s.saves_plan);
  if (savers.length > 0 && def.archetype !== 'proposal_only')
    problems.push('only a proposal_only definition has an agent step that saves_plan');
  if (savers.length > 1) problems.push('only one agent step may save the plan');
  for (const s of savers)
    if (s.artifact === PLAN_ARTIFACT)
      problems.push(
        `agent "${s.id}" cannot name its artifact "${PLAN_ARTIFACT}": the saved plan is stored there`,
      );
  if (problems.length) throw new Error(`Invalid workflow ${def.name}: ${problems.join('; ')}`);
}

/** Agent steps of a definition, however deep in conditions. */
function agentSteps<I>(steps: readonly Step<I>[]): AgentStep<I>[] {
  return steps.flatMap((s) =>
    s.kind === 'agent'
      ? [s]
      : s.kind === 'when'
        ? [...agentSteps(s.then), ...agentSteps(s.else ?? [])]
        : [],
  );
}

/**
 * What is wrong with the agent steps' `tools` and `max_turns`. Every tool an agent may ask for
 * must be in `allowed_tools`; with `allowed` null that is checked only when `allowed_tools`
 * ignores the input (known at registration), else when a run starts with its input.
 */
export function agentToolProblems<I>(
  def: WorkflowDefinition<I>,
  allowed: readonly string[] | null,
): string[] {
  const problems: string[] = [];
  const known =
    allowed ?? (def.allowed_tools.length === 0 ? def.allowed_tools(undefined as I) : null);
  for (const s of agentSteps([...def.steps, ...(def.finally ?? [])])) {
    const m = s.max_turns;
    if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > MAX_TURNS_LIMIT))
      problems.push(
        `agent "${s.id}" max_turns must be a whole number from 1 to ${MAX_TURNS_LIMIT}`,
      );
    const tools = s.tools ?? [];
    if (new Set(tools).size !== tools.length) problems.push(`agent "${s.id}" lists a tool twice`);
    for (const t of tools)
      if (known && !known.includes(t))
        problems.push(`agent "${s.id}" may use tool "${t}", which is not in allowed_tools`);
  }
  return problems;
}
