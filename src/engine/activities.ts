import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { type CallContext, operatorContext } from '../core/context.js';
import { CountersignError } from '../core/errors.js';
import type { Kernel } from '../core/kernel.js';
import { EVENT_TYPES } from '../core/ledger.js';
import { canonicalJson, sha256Hex } from '../core/canonical.js';
import type { JsonObject, JsonValue } from '../core/model.js';
import type { PendingEffect, WorkflowOps } from '../core/workflow-ops.js';
import type { ProposedCall } from './definition.js';
import type { ActivityArgs, ActivityName, ActivityResult } from './effects.js';
import { loadApprovedPlan, readPlanAgain, savePlan } from './plan-activities.js';
import type { ModelRequest, ModelResponse, ModelTool, ModelToolCall } from '../core/ports/model.js';
import { checkPlanInvariants } from './plan-brief.js';

/** Which run an activity works for, and why (the run's purpose). */
export interface RunRef {
  readonly tenant_id: string;
  readonly run_id: string;
  readonly purpose: string;
  /** Observed results to record in the same transaction as this activity's effect. */
  readonly preface?: readonly PendingEffect[];
}

export type Activities = {
  [N in ActivityName]: (
    ref: RunRef,
    seq: number,
    args: ActivityArgs<N>,
  ) => Promise<ActivityResult<N>>;
};

/** What agents need of the model gateway (src/engine/model-gateway.ts implements it). */
export interface AgentModels {
  generate(
    request: Omit<ModelRequest, 'model'> & { model?: string; reveal?: readonly string[] },
  ): Promise<{
    response: ModelResponse;
    model_id: string;
    redactions: Record<string, number>;
    revealed?: readonly string[];
  }>;
}

export interface ActivityDeps {
  readonly ops: WorkflowOps;
  readonly kernel: Kernel;
  readonly models: AgentModels;
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);
const validators = new Map<string, ValidateFunction>();

/** Compiles an output schema once per process. */
function validatorFor(schema: JsonObject): ValidateFunction {
  const key = canonicalJson(schema);
  let v = validators.get(key);
  if (!v) {
    v = ajv.compile(schema);
    validators.set(key, v);
  }
  return v;
}

function contextOf(ref: RunRef, agent_invocation_id?: string): CallContext {
  const ctx = operatorContext(ref.purpose, ref.tenant_id);
  return agent_invocation_id ? { ...ctx, agent_invocation_id } : ctx;
}

/**
 * The side effects of workflow steps, each idempotent by (run, seq). Effects that only touch
 * the store commit with their record in one transaction; effects that call out (a model, a
 * tool) do the work first and record after, guarded by the kernel's at-most-once execution
 * record where it matters.
 */
export function createActivities(deps: ActivityDeps): Activities {
  const { ops, kernel, models } = deps;

  /** The registered tools by name (what a plan's checks are held to). */
  const registry = { get: (name: string) => kernel.listTools().find((t) => t.name === name) };

  /** The registered tools among `names`, as a model is shown them. */
  function toolsOffered(names: readonly string[] | undefined): ModelTool[] {
    if (!names?.length) return [];
    return kernel
      .listTools()
      .filter((t) => names.includes(t.name))
      .map((t) => ({ name: t.name, description: t.description, parameters: t.inputSchema }));
  }

  /** Runs `work` once: returns the recorded result when this effect was recorded before. */
  async function once<T>(
    ref: RunRef,
    seq: number,
    kind: string,
    work: () => Promise<T>,
  ): Promise<T> {
    const recorded = await ops.recordedEffect(ref.tenant_id, ref.run_id, seq);
    if (recorded) return recorded.result as T;
    const result = await work();
    try {
      return (
        await ops.effect(
          contextOf(ref),
          ref.run_id,
          seq,
          kind,
          () => Promise.resolve(result),
          ref.preface,
        )
      ).result;
    } catch (e) {
      // A concurrent driver recorded it first: its result is the one that counts.
      if (e instanceof CountersignError && e.code === 'CONFLICT') {
        const winner = await ops.recordedEffect(ref.tenant_id, ref.run_id, seq);
        if (winner) return winner.result as T;
      }
      throw e;
    }
  }

  const activities: Activities = {
    async step(ref, seq, a) {
      return (
        await ops.effect(
          contextOf(ref),
          ref.run_id,
          seq,
          'step',
          async (s) => {
            const run = s.run();
            const stage = a.stage ?? run.stage;
            await s.update({
              stage,
              context: {
                ...run.context,
                current_step: a.step_id,
                approval_required: a.approval_required ?? run.context.approval_required ?? false,
              },
              trace: a.trace ? [...run.trace, ...a.trace] : run.trace,
              artifacts: a.artifacts ? { ...run.artifacts, ...a.artifacts } : run.artifacts,
            });
            await s.record(EVENT_TYPES.WORKFLOW_STEP, {
              workflow_id: ref.run_id,
              step_id: a.step_id,
              kind: a.kind,
              status: a.status,
              stage,
              agent_invocation_id: a.agent_invocation_id ?? null,
              detail: a.detail,
            });
            return { stage };
          },
          ref.preface,
        )
      ).result;
    },

    async agent(ref, seq, a) {
      type R = ActivityResult<'agent'>;
      const recorded = await ops.recordedEffect(ref.tenant_id, ref.run_id, seq);
      if (recorded) return recorded.result as R;
      const ctx = contextOf(ref, a.agent_invocation_id);
      // Policy first: no model is called for an invocation policy denies.
      await ops.authorizeAgentInvocation(ctx, {
        role: a.role,
        workflow_id: ref.run_id,
        agent_invocation_id: a.agent_invocation_id,
      });
      let output: JsonValue = null;
      let model: string | null = null;
      let error: string | null = null;
      const usage = { prompt_tokens: 0, completion_tokens: 0 };
      const redactions: Record<string, number> = {};
      const revealed = new Set<string>();
      let attempts = 0;
      let tool_calls: ModelToolCall[] | undefined;
      const offered = toolsOffered(a.tools);
      if (a.model) {
        const validate = validatorFor(a.output_schema);
        let previous_error: string | undefined;
        // `attempts` counts the answers asked for, so a failure after two says 2, not 3.
        for (let attempt = 1; attempt <= 2; attempt++) {
          attempts = attempt;
          try {
            const answer = await models.generate({
              tenant_id: ref.tenant_id,
              role: a.role,
              instructions: a.instructions,
              input: a.input,
              output_schema: a.output_schema,
              schema_name: a.artifact.replace(/[^a-zA-Z0-9_-]/g, '_'),
              previous_error,
              ...(a.reveal?.length ? { reveal: a.reveal } : {}),
              ...(offered.length > 0 ? { tools: offered, messages: a.messages ?? [] } : {}),
            });
            model = answer.model_id;
            usage.prompt_tokens += answer.response.usage.prompt_tokens;
            usage.completion_tokens += answer.response.usage.completion_tokens;
            for (const [k, v] of Object.entries(answer.redactions))
              redactions[k] = (redactions[k] ?? 0) + Number(v);
            for (const path of answer.revealed ?? []) revealed.add(path);
            const calls = answer.response.tool_calls ?? [];
            if (offered.length > 0 && calls.length > 0) {
              // Not an answer yet: the calls are made (governed) and the next turn sees them.
              tool_calls = calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments }));
              error = null;
              break;
            }
            // A plan is held to its invariants first: the error names the one it breaks
            // (its schema alone would only say that a constant differs).
            const broken = a.plan_check
              ? checkPlanInvariants(answer.response.output, {
                  expectedPhaseIds: a.plan_check.expected_phase_ids,
                  tools: registry,
                  ...(a.plan_check.read_tools ? { readTools: a.plan_check.read_tools } : {}),
                })
              : [];
            if (broken.length > 0) {
              previous_error = `the plan breaks ${broken.map((v) => `${v.invariant} (${v.message})`).join('; ')}`;
              error = `invalid output after ${attempts} attempt(s): ${previous_error}`;
              continue;
            }
            if (validate(answer.response.output)) {
              output = answer.response.output;
              error = null;
              break;
            }
            previous_error = ajv.errorsText(validate.errors, { dataVar: 'output' });
            error = `invalid output after ${attempts} attempt(s): ${previous_error}`;
          } catch (e) {
            if (!(e instanceof CountersignError)) throw e;
            error = `${e.code}: ${e.message}`;
            // A refused or unavailable model is not retried: the answer would be the same.
            if ((e.code as string) !== 'MODEL_OUTPUT_INVALID') break;
            previous_error = e.message;
          }
        }
      }
      const result: R =
        error !== null
          ? { ok: false, error }
          : tool_calls
            ? { ok: true, output: null, model, tool_calls }
            : { ok: true, output, model };
      return (
        await ops.effect(
          ctx,
          ref.run_id,
          seq,
          'agent',
          async (s) => {
            const actor = await s.agentActor(a.role);
            await s.record(
              EVENT_TYPES.AGENT_INVOKE,
              {
                workflow_id: ref.run_id,
                agent_invocation_id: a.agent_invocation_id,
                step_id: a.step_id,
                role: a.role,
                purpose: ref.purpose,
                model,
                attempts,
                usage,
                redactions,
                // Only agents with a declared exception add it: what the model saw unredacted.
                ...(a.reveal?.length ? { revealed: [...revealed] } : {}),
                ok: result.ok,
                output_sha256: result.ok && !tool_calls ? sha256Hex(canonicalJson(output)) : null,
                error,
                // Only agents with tools add these: the events of other agents stay as they were.
                ...(a.tools?.length
                  ? { turn: a.turn ?? 1, tool_calls: (tool_calls ?? []).map((c) => c.name) }
                  : {}),
              },
              actor,
            );
            return result;
          },
          ref.preface,
        )
      ).result;
    },

    async save_plan(ref, seq, a) {
      return once(ref, seq, 'save_plan', () =>
        savePlan(kernel.listTools(), ops.clock.now(), ref, seq, a),
      );
    },

    async propose(ref, seq, a) {
      type R = ActivityResult<'propose'>;
      const ctx = contextOf(ref, a.agent_invocation_id);
      try {
        return (
          await ops.effect(
            ctx,
            ref.run_id,
            seq,
            'propose',
            async (s): Promise<R> => {
              const actor_id = await s.agentActor(a.as);
              const proposed: ProposedCall[] = [];
              for (const call of a.calls) {
                const r = await s.propose({
                  actor_id,
                  tool: call.tool,
                  params: call.params,
                  reason: `${call.reason} [${a.agent_invocation_id}]`,
                });
                proposed.push({
                  label: call.label,
                  tool: call.tool,
                  proposal_id: r.proposal_id,
                  hash: r.hash,
                  status: r.status,
                  required_approvals: r.required_approvals,
                  required_roles: r.required_roles,
                  rollback_for: call.rollback_for ?? null,
                });
              }
              return { ok: true, proposed };
            },
            ref.preface,
          )
        ).result;
      } catch (e) {
        if (!(e instanceof CountersignError) || e.code === 'CONFLICT' || e.code === 'INTERNAL')
          throw e;
        const failure: R = { ok: false, error: e.message, code: e.code };
        return once(ref, seq, 'propose', () => Promise.resolve(failure));
      }
    },

    async tool_call(ref, seq, a) {
      type R = ActivityResult<'tool_call'>;
      const recorded = await ops.recordedEffect(ref.tenant_id, ref.run_id, seq);
      if (recorded) return recorded.result as R;
      const ctx = contextOf(ref, a.agent_invocation_id);
      // A refusal is the call's result: recorded in the ledger with the effect, told to the model.
      const refuse = async (code: string, error: string): Promise<R> =>
        (
          await ops.effect(
            ctx,
            ref.run_id,
            seq,
            'tool_call',
            async (s): Promise<R> => {
              await s.record(
                EVENT_TYPES.OPERATION_REFUSED,
                {
                  operation: 'agent_tool_call',
                  code,
                  message: error,
                  tool: a.tool,
                  workflow_id: ref.run_id,
                  agent_invocation_id: a.agent_invocation_id,
                  step_id: a.step_id,
                  call_id: a.call_id,
                  purpose: ref.purpose,
                },
                await s.agentActor(a.as),
              );
              return { ok: false, code, error };
            },
            ref.preface,
          )
        ).result;
      if (!a.offered.includes(a.tool))
        return refuse(
          'POLICY_DENIED',
          `${a.tool} is not a tool this agent may use; it may use: ${a.offered.join(', ') || 'none'}.`,
        );
      const tool = kernel.listTools().find((t) => t.name === a.tool);
      if (!tool) return refuse('UNKNOWN_TOOL', `No tool named ${a.tool} is registered.`);
      if (tool.risk !== 'read')
        return refuse(
          'REVIEW_REQUIRED',
          `${a.tool} is a ${tool.risk} tool: an agent runs only read tools on its own; ` +
            'a change must be proposed and approved in a later step.',
        );
      const params = a.params;
      if (typeof params !== 'object' || params === null || Array.isArray(params))
        return refuse('VALIDATION_FAILED', `The parameters of ${a.tool} must be a JSON object.`);
      try {
        return (
          await ops.effect(
            ctx,
            ref.run_id,
            seq,
            'tool_call',
            async (s): Promise<R> => {
              const r = await s.propose({
                actor_id: await s.agentActor(a.as),
                tool: a.tool,
                params,
                reason: `asked for by ${a.as} (${a.call_id}) [${a.agent_invocation_id}]`,
              });
              // Rolls the proposal back: no call waits in an inbox for an agent that moved on.
              if (r.status !== 'approved')
                throw new CountersignError(
                  'REVIEW_REQUIRED',
                  `Policy sends this ${a.tool} call to review (${r.required_approvals} approval(s)); ` +
                    'an agent runs a tool on its own only when policy needs no review.',
                );
              return { ok: true, proposal_id: r.proposal_id, hash: r.hash };
            },
            ref.preface,
          )
        ).result;
      } catch (e) {
        if (
          !(e instanceof CountersignError) ||
          e.code === 'CONFLICT' ||
          e.code === 'INTERNAL' ||
          e.code === 'STORE_UNAVAILABLE'
        )
          throw e;
        return refuse(e.code, e.message);
      }
    },

    async request_approval(ref, seq, a) {
      return (
        await ops.effect(
          contextOf(ref),
          ref.run_id,
          seq,
          'request_approval',
          async (s) => {
            const approval = await s.requestApproval(a);
            return { approval_id: approval.id };
          },
          ref.preface,
        )
      ).result;
    },

    async expire_approval(ref, seq, a) {
      return once(ref, seq, 'expire_approval', async () => {
        const r = await ops.expireApproval(contextOf(ref), a.approval_id);
        return { escalated: r.escalated, status: r.approval.status };
      });
    },

    async execute(ref, seq, a) {
      return once(ref, seq, 'execute', async (): Promise<ActivityResult<'execute'>> => {
        try {
          const r = await kernel.executeAction(contextOf(ref, a.agent_invocation_id), {
            proposal_id: a.proposal_id,
          });
          return {
            status: r.result.status === 'started' ? 'failed' : r.result.status,
            execution_id: r.execution_id,
            hash: r.result.hash,
            output: r.result.output as JsonValue,
            error: r.result.error as JsonValue,
          };
        } catch (e) {
          if (!(e instanceof CountersignError) || e.code === 'STORE_UNAVAILABLE') throw e;
          return {
            status: 'refused',
            execution_id: null,
            hash: null,
            output: null,
            error: { code: e.code, message: e.message },
          };
        }
      });
    },

    async retrieve(ref, seq, a) {
      return once(ref, seq, 'retrieve', async () => {
        const { hits } = await ops.searchKnowledge(contextOf(ref), {
          query: a.query,
          limit: a.limit,
        });
        return { hits: hits.map((h) => ({ ...h, tags: [...h.tags] })) };
      });
    },

    async notify(ref, seq, a) {
      return (
        await ops.effect(
          contextOf(ref),
          ref.run_id,
          seq,
          'notify',
          async (s) => {
            await s.record(EVENT_TYPES.NOTIFICATION_SENT, {
              workflow_id: ref.run_id,
              step_id: a.step_id,
              channel: a.channel,
              message: a.message,
            });
            return { delivered: true, detail: `recorded in the ledger for channel ${a.channel}` };
          },
          ref.preface,
        )
      ).result;
    },

    async plan_load(ref, seq, a) {
      return once(ref, seq, 'plan_load', () => loadApprovedPlan(ops, ref, a));
    },

    async plan_reads(ref, seq, a) {
      return once(ref, seq, 'plan_reads', () =>
        readPlanAgain(kernel.listTools(), ref, ops.clock.now(), a),
      );
    },

    async finish(ref, seq, a) {
      return (
        await ops.effect(
          contextOf(ref),
          ref.run_id,
          seq,
          'finish',
          async (s) => {
            const run = await s.update({
              status: a.status,
              stage: a.stage,
              error: a.error,
              waiting_on: null,
              wake_at: null,
            });
            await ops.closeWorkflow(s.tx, ref.tenant_id, run);
            await s.record(
              a.status === 'completed'
                ? EVENT_TYPES.WORKFLOW_COMPLETED
                : EVENT_TYPES.WORKFLOW_FAILED,
              {
                workflow_id: ref.run_id,
                definition: run.definition,
                stage: a.stage,
                error: a.error,
                artifacts: Object.keys(run.artifacts).sort(),
                trace_entries: run.trace.length,
              },
            );
            return { status: a.status };
          },
          ref.preface,
        )
      ).result;
    },
  };
  return activities;
}
