import { z } from 'zod';
import type { JsonObject, JsonValue } from '../core/model.js';
import { withQuorum } from '../core/quorum.js';
import type { ModelMessage } from '../core/ports/model.js';
import {
  DEFAULT_MAX_TURNS,
  type ProposedCall,
  type RunState,
  type Step,
  type WorkflowDefinition,
} from './definition.js';
import type { ActivityArgs, ActivityResult, Effects, GateWait } from './effects.js';
import { type PlanStepContext, runCheckReads, runLoadPlan, savePlanOf } from './plan-steps.js';

/**
 * The one interpreter of workflow definitions. It holds no I/O of its own: every side effect
 * goes through `Effects`, which the embedded runtime backs with recorded effects and the
 * Temporal runtime with activities, timers and updates. Given the same recorded effects it
 * makes the same calls in the same order (it is replayed after a restart).
 */

export interface RunSeed {
  readonly id: string;
  readonly tenant_id: string;
  readonly input: JsonObject;
  readonly started_by: string;
}

export interface RunEnd {
  readonly status: 'completed' | 'failed';
  readonly stage: string;
  readonly outcome: 'completed' | 'rejected' | 'failed';
}

class StepFailed extends Error {
  constructor(
    readonly step_id: string,
    readonly reason: string,
  ) {
    super(`${step_id}: ${reason}`);
  }
}

class Ended extends Error {
  constructor(readonly stage: string) {
    super(`ended in ${stage}`);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const isObject = (v: JsonValue): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export async function interpret<I>(
  def: WorkflowDefinition<I>,
  seed: RunSeed,
  fx: Effects,
): Promise<RunEnd> {
  const st: Mutable<RunState<I>> = {
    id: seed.id,
    tenant_id: seed.tenant_id,
    input: def.input.parse(seed.input),
    started_by: seed.started_by,
    stage: def.initial_stage,
    artifacts: {},
    feedback: {},
    proposals: {},
    approval_required: false,
    outcome: null,
    trace: [],
  };
  let seq = 0;
  const next = () => ++seq;
  const attempts = new Map<string, number>();
  const invocations = new Map<string, string>();
  const newInvocation = (step_id: string) => `${seed.id}.${step_id}.${seq + 1}`;
  /** IDs of the steps `each` steps made, so that none repeats. */
  const generated = new Set<string>();
  /** The reads each agent step's latest invocation made, with their results (for a plan). */
  const readsByStep = new Map<string, { tool: string; params: JsonObject; result: JsonValue }[]>();

  const stepEvent = async (
    step: { readonly id: string; readonly kind: string },
    status: 'completed' | 'failed' | 'skipped' | 'waiting',
    detail: JsonObject,
    extra: {
      stage?: string;
      agent_invocation_id?: string | null;
      trace?: JsonObject[];
      artifacts?: JsonObject;
    } = {},
  ) => {
    if (extra.trace?.length) st.trace = [...st.trace, ...extra.trace];
    const r = await fx.activity(next(), 'step', {
      step_id: step.id,
      kind: step.kind,
      status,
      detail,
      ...(extra.stage !== undefined ? { stage: extra.stage } : {}),
      ...(extra.agent_invocation_id ? { agent_invocation_id: extra.agent_invocation_id } : {}),
      ...(extra.artifacts ? { artifacts: extra.artifacts } : {}),
      ...(extra.trace?.length ? { trace: extra.trace } : {}),
      approval_required: st.approval_required,
    });
    st.stage = r.stage;
  };

  /** What the plan step runners (plan-steps.ts) may use of this run. */
  const planCtx: PlanStepContext<I> = {
    state: () => st,
    addArtifacts: (artifacts) => {
      st.artifacts = { ...st.artifacts, ...artifacts };
    },
    activity: (name, args) => fx.activity(next(), name, args),
    newInvocation,
    invoked: (step_id, agent_invocation_id) => {
      invocations.set(step_id, agent_invocation_id);
    },
    event: stepEvent,
    fail: (step_id, reason) => {
      throw new StepFailed(step_id, reason);
    },
  };

  const timeAfter = (now: string, ms: number) => new Date(Date.parse(now) + ms).toISOString();

  async function runSteps(steps: readonly Step<I>[], top: boolean): Promise<void> {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      const goto = await runStep(step);
      if (goto !== undefined) {
        const target = steps.findIndex((s) => s.id === goto);
        if (!top || target < 0) throw new StepFailed(step.id, `cannot go back to "${goto}"`);
        i = target - 1;
      }
    }
  }

  async function runStep(step: Step<I>): Promise<string | undefined> {
    switch (step.kind) {
      case 'stage': {
        const stage = typeof step.stage === 'string' ? step.stage : step.stage(st);
        await stepEvent(step, 'completed', { stage }, { stage });
        return undefined;
      }
      case 'agent': {
        const agent_invocation_id = newInvocation(step.id);
        const ask = {
          step_id: step.id,
          agent_invocation_id,
          role: step.role,
          model: true,
          artifact: step.artifact,
          instructions: step.instructions,
          input: step.input(st),
          output_schema: z.toJSONSchema(step.output, { target: 'draft-2020-12' }) as JsonObject,
          ...(step.reveal?.length ? { reveal: [...step.reveal] } : {}),
          // Only a plan's output agent adds it: the events of other agents stay as they were.
          ...(step.saves_plan
            ? {
                plan_check: {
                  expected_phase_ids: [...(step.saves_plan.expected_phases?.(st) ?? [])],
                  read_tools: [...def.allowed_tools(st.input)],
                },
              }
            : {}),
        };
        const used = step.tools?.length ? await useTools(step, ask) : null;
        const r = used ? used.answer : await fx.activity(next(), 'agent', ask);
        if (!r.ok) {
          const detail: JsonObject = used
            ? { error: r.error, tool_calls: used.log }
            : { error: r.error };
          await stepEvent(step, 'failed', detail, { agent_invocation_id });
          throw new StepFailed(step.id, r.error);
        }
        const checked = step.output.safeParse(r.output);
        if (!checked.success) {
          const error = `the ${step.role} answer does not match its schema: ${z.prettifyError(checked.error)}`;
          await stepEvent(step, 'failed', { error }, { agent_invocation_id });
          throw new StepFailed(step.id, error);
        }
        invocations.set(step.id, agent_invocation_id);
        let artifacts: JsonObject = { [step.artifact]: checked.data as JsonValue };
        let saved: JsonObject = {};
        if (step.saves_plan) {
          const plan = await savePlanOf(
            planCtx,
            step,
            agent_invocation_id,
            checked.data as JsonValue,
            [...readsByStep.values()].flat(),
            ask.plan_check,
          );
          artifacts = { ...artifacts, ...plan.artifacts };
          saved = plan.saved;
        }
        st.artifacts = { ...st.artifacts, ...artifacts };
        await stepEvent(
          step,
          'completed',
          {
            role: step.role,
            artifact: step.artifact,
            model: r.model,
            ...(used ? { turns: used.turns, tool_calls: used.log } : {}),
            ...saved,
          },
          { agent_invocation_id, artifacts },
        );
        return undefined;
      }
      case 'propose': {
        const agent_invocation_id = invocations.get(step.invocation_of);
        if (!agent_invocation_id)
          throw new StepFailed(step.id, `no invocation of "${step.invocation_of}" yet`);
        const calls = [...step.calls(st)];
        const r = await fx.activity(next(), 'propose', {
          step_id: step.id,
          as: step.as,
          agent_invocation_id,
          calls,
        });
        if (!r.ok) {
          await stepEvent(
            step,
            'failed',
            { error: r.error, code: r.code },
            { agent_invocation_id },
          );
          throw new StepFailed(step.id, `${r.code}: ${r.error}`);
        }
        st.proposals = { ...st.proposals, [step.id]: r.proposed };
        if (r.proposed.some((p) => p.status === 'pending')) st.approval_required = true;
        await stepEvent(
          step,
          'completed',
          {
            proposals: r.proposed.map((p) => ({ ...p, required_roles: [...p.required_roles] })),
          },
          { agent_invocation_id },
        );
        return undefined;
      }
      case 'gate':
        return runGate(step);
      case 'wait': {
        const until = step.until(st);
        const failAfter = step.fail_after?.(st) ?? null;
        const now = await fx.now(next());
        if (failAfter !== null && now > failAfter) {
          const reason = `arrived at ${now}, after ${failAfter}`;
          await stepEvent(step, 'failed', { error: reason });
          throw new StepFailed(step.id, reason);
        }
        if (until === null || now >= until) {
          await stepEvent(step, 'completed', { waited: false, until });
          return undefined;
        }
        await stepEvent(step, 'waiting', { until });
        await fx.sleepUntil(next(), until);
        await stepEvent(step, 'completed', { waited: true, until });
        return undefined;
      }
      case 'execute':
        await runExecute(step);
        return undefined;
      case 'retrieve': {
        const r = await fx.activity(next(), 'retrieve', {
          step_id: step.id,
          query: step.query(st),
          limit: step.limit ?? 5,
        });
        st.artifacts = { ...st.artifacts, [step.artifact]: r.hits };
        await stepEvent(
          step,
          'completed',
          { hits: r.hits.map((h) => h.id ?? null) },
          { artifacts: { [step.artifact]: r.hits } },
        );
        return undefined;
      }
      case 'notify': {
        const r = await fx.activity(next(), 'notify', {
          step_id: step.id,
          channel: step.channel(st),
          message: step.message(st),
        });
        await stepEvent(step, 'completed', { delivered: r.delivered, detail: r.detail });
        return undefined;
      }
      case 'load_plan':
        await runLoadPlan(planCtx, step);
        return undefined;
      case 'check_reads':
        await runCheckReads(planCtx, step);
        return undefined;
      case 'each': {
        const items = step.items(st);
        await stepEvent(step, 'completed', { items: items.length });
        for (let i = 0; i < items.length; i++) {
          const steps = step.steps(items[i]!, i);
          for (const s of steps)
            if (generated.has(s.id)) throw new StepFailed(step.id, `step id "${s.id}" repeats`);
            else generated.add(s.id);
          await runSteps(steps, false);
        }
        return undefined;
      }
      case 'when': {
        const holds = step.if(st);
        await stepEvent(step, 'completed', { condition: holds });
        await runSteps(holds ? step.then : (step.else ?? []), false);
        return undefined;
      }
    }
  }

  /**
   * An agent with tools: model turns until it answers, each tool call it asks for made as a
   * governed call between turns. Every turn and every call is an effect of the run, so a
   * replay hands back the recorded answers and results instead of calling again.
   */
  async function useTools(
    step: Extract<Step<I>, { kind: 'agent' }>,
    ask: ActivityArgs<'agent'>,
  ): Promise<{ answer: ActivityResult<'agent'>; turns: number; log: JsonObject[] }> {
    const allowed = def.allowed_tools(st.input);
    const offered = (step.tools ?? []).filter((t) => allowed.includes(t));
    const max_turns = step.max_turns ?? DEFAULT_MAX_TURNS;
    const messages: ModelMessage[] = [];
    const log: JsonObject[] = [];
    const reads: { tool: string; params: JsonObject; result: JsonValue }[] = [];
    readsByStep.delete(step.id);
    readsByStep.set(step.id, reads);
    for (let turn = 1; ; turn++) {
      const answer = await fx.activity(next(), 'agent', {
        ...ask,
        tools: offered,
        messages: [...messages],
        turn,
      });
      if (!answer.ok || !answer.tool_calls?.length) return { answer, turns: turn, log };
      if (turn >= max_turns) {
        const error = `the ${step.role} agent asked for tools again in turn ${turn} and gave no answer within max_turns (${max_turns})`;
        return { answer: { ok: false, error }, turns: turn, log };
      }
      messages.push({ role: 'assistant', tool_calls: answer.tool_calls });
      for (const call of answer.tool_calls) {
        const asked = await fx.activity(next(), 'tool_call', {
          step_id: step.id,
          as: step.role,
          agent_invocation_id: ask.agent_invocation_id,
          call_id: call.id,
          tool: call.name,
          params: call.arguments,
          offered,
        });
        let content: JsonObject;
        let entry: JsonObject = { turn, call_id: call.id, tool: call.name };
        if (!asked.ok) {
          content = { ok: false, code: asked.code, error: asked.error };
          entry = { ...entry, ok: false, code: asked.code };
        } else {
          const ran = await fx.activity(next(), 'execute', {
            proposal_id: asked.proposal_id,
            agent_invocation_id: ask.agent_invocation_id,
            as: step.role,
          });
          const ok = ran.status === 'succeeded';
          const why = ran.error;
          const code = ok
            ? null
            : ran.status === 'simulated'
              ? 'DRY_RUN'
              : typeof why === 'object' &&
                  why !== null &&
                  !Array.isArray(why) &&
                  typeof why.code === 'string'
                ? why.code
                : 'TOOL_FAILED';
          if (ok && isObject(call.arguments))
            reads.push({ tool: call.name, params: call.arguments, result: ran.output });
          content = ok
            ? { ok, output: ran.output }
            : ran.status === 'simulated'
              ? { ok, code: 'DRY_RUN', error: 'dry-run mode: the call was planned, not run' }
              : { ok, code, error: why };
          entry = {
            ...entry,
            ok,
            code,
            proposal_id: asked.proposal_id,
            execution_id: ran.execution_id,
          };
        }
        messages.push({ role: 'tool', tool_call_id: call.id, name: call.name, content });
        log.push(entry);
      }
    }
  }

  async function runGate(step: Extract<Step<I>, { kind: 'gate' }>): Promise<string | undefined> {
    if (step.when && !step.when(st)) {
      await stepEvent(step, 'skipped', { reason: 'not required' });
      return undefined;
    }
    const attempt = (attempts.get(step.id) ?? 0) + 1;
    attempts.set(step.id, attempt);
    const bound: readonly ProposedCall[] = step.binds ? (st.proposals[step.binds] ?? []) : [];
    const pending = bound.filter((b) => b.status === 'pending');
    const rule = withQuorum({
      required_approvals: Math.max(
        step.approvals?.(st) ?? 1,
        ...pending.map((b) => b.required_approvals),
      ),
      required_roles: [...(step.roles?.(st) ?? [])],
      role_quorum: step.quorum?.(st),
    });
    const authors = [...new Set(step.authors?.(st) ?? [])].filter((a) => a !== '');
    const now = await fx.now(next());
    let due_at = step.timeout ? timeAfter(now, step.timeout.after_ms) : null;
    const on_timeout: JsonObject | null = step.timeout
      ? step.timeout.escalate_to
        ? { escalate_to: [...step.timeout.escalate_to] }
        : { outcome: step.timeout.outcome ?? 'reject' }
      : null;
    const { approval_id } = await fx.activity(next(), 'request_approval', {
      request_key: `${step.id}#${attempt}`,
      title: step.title(st),
      packet: {
        ...step.packet(st),
        calls: pending.map((b) => ({
          label: b.label,
          tool: b.tool,
          proposal_id: b.proposal_id,
          hash: b.hash,
          rollback_for: b.rollback_for,
        })),
      },
      required_approvals: rule.required_approvals,
      required_roles: [...rule.required_roles],
      // Only a quorum adds the key: recorded histories of any-of gates stay as they were.
      ...(rule.role_quorum ? { role_quorum: { ...rule.role_quorum } } : {}),
      // Likewise only a gate with other authors adds them.
      ...(authors.length ? { authors } : {}),
      proposals: pending.map((b) => ({ proposal_id: b.proposal_id, hash: b.hash })),
      due_at,
      on_timeout,
    });
    await stepEvent(step, 'waiting', { approval_id, attempt, due_at });
    let wait: GateWait;
    for (;;) {
      wait = await fx.waitForApproval(next(), approval_id, due_at);
      if (wait.kind === 'decided') break;
      const expired = await fx.activity(next(), 'expire_approval', { approval_id });
      if (expired.escalated) due_at = null;
    }
    const trace = wait.decisions.map((d) => ({
      type: 'decision',
      gate: step.id,
      approval_id,
      reviewer_id: d.reviewer_id,
      decision: d.decision,
      comment: d.comment,
      at: d.at ?? null,
    }));
    const detail = { approval_id, attempt, status: wait.status };
    if (wait.status === 'approved') {
      await stepEvent(step, 'completed', detail, { trace });
      return undefined;
    }
    if (wait.status === 'needs_info' && step.on_more_info) {
      const comments = wait.decisions
        .filter((d) => d.decision === 'request_more_info')
        .map((d) => d.comment ?? '(no comment)');
      st.feedback = { ...st.feedback, [step.id]: [...(st.feedback[step.id] ?? []), ...comments] };
      await stepEvent(step, 'completed', { ...detail, goto: step.on_more_info.goto }, { trace });
      return step.on_more_info.goto;
    }
    await stepEvent(step, 'completed', detail, { trace, stage: step.on_reject.stage });
    throw new Ended(step.on_reject.stage);
  }

  async function runExecute(step: Extract<Step<I>, { kind: 'execute' }>): Promise<void> {
    const calls = st.proposals[step.from] ?? [];
    const agent_invocation_id = newInvocation(step.id);
    const inv = await fx.activity(next(), 'agent', {
      step_id: step.id,
      agent_invocation_id,
      role: step.as,
      model: false,
      artifact: 'executions',
      instructions: `Execute the approved calls of ${step.from} in order.`,
      input: { calls: calls.map((c) => ({ label: c.label, proposal_id: c.proposal_id })) },
      output_schema: {},
    });
    if (!inv.ok) throw new StepFailed(step.id, inv.error);
    const deadline = step.deadline?.(st) ?? null;
    const results: JsonObject[] = [];
    const done: ProposedCall[] = [];
    let failure: string | null = null;
    const run = async (call: ProposedCall, rollback: boolean) => {
      const r = await fx.activity(next(), 'execute', {
        proposal_id: call.proposal_id,
        agent_invocation_id,
        as: step.as,
      });
      const entry: JsonObject = {
        type: rollback ? 'rollback' : 'tool',
        step_id: call.label,
        tool: call.tool,
        proposal_id: call.proposal_id,
        execution_id: r.execution_id,
        hash: r.hash ?? call.hash,
        status: r.status,
        error: r.error,
      };
      results.push({ ...entry, output: r.output });
      await stepEvent(step, r.status === 'succeeded' ? 'completed' : 'failed', entry, {
        agent_invocation_id,
        trace: [entry],
      });
      return r;
    };
    for (const call of calls.filter((c) => c.rollback_for === null)) {
      if (deadline !== null) {
        const now = await fx.now(next());
        if (now > deadline) {
          failure = `${call.label} not started: the deadline ${deadline} passed at ${now}`;
          break;
        }
      }
      const r = await run(call, false);
      if (r.status !== 'succeeded') {
        failure = `${call.label} (${call.tool}) ${r.status}: ${JSON.stringify(r.error)}`;
        break;
      }
      done.push(call);
    }
    st.artifacts = { ...st.artifacts, executions: results };
    if (failure === null) return;
    for (const completed of [...done].reverse()) {
      const undo = calls.find((c) => c.rollback_for === completed.label);
      if (undo) await run(undo, true);
    }
    st.artifacts = { ...st.artifacts, executions: results };
    await stepEvent(
      step,
      'failed',
      { error: failure, rolled_back: done.map((d) => d.label).reverse() },
      { stage: step.on_failure.stage, artifacts: { executions: results } },
    );
    throw new StepFailed(step.id, failure);
  }

  let status: RunEnd['status'] = 'completed';
  let error: JsonObject | null = null;
  try {
    await runSteps(def.steps, true);
    st.outcome = 'completed';
  } catch (e) {
    if (e instanceof Ended) st.outcome = 'rejected';
    else if (e instanceof StepFailed) {
      st.outcome = 'failed';
      status = 'failed';
      error = { step_id: e.step_id, reason: e.reason };
      if (st.stage !== 'failed')
        await fx
          .activity(next(), 'step', {
            step_id: e.step_id,
            kind: 'stage',
            status: 'failed',
            stage: 'failed',
            detail: { error: e.reason },
          })
          .then((r) => (st.stage = r.stage));
    } else throw e;
  }
  try {
    await runSteps(def.finally ?? [], false);
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e;
    status = 'failed';
    error = error ?? { step_id: e.step_id, reason: e.reason };
  }
  if (st.outcome === 'completed' && status === 'completed' && st.stage !== def.final_stage) {
    const r = await fx.activity(next(), 'step', {
      step_id: 'close',
      kind: 'stage',
      status: 'completed',
      stage: def.final_stage,
      detail: { stage: def.final_stage },
    });
    st.stage = r.stage;
  }
  await fx.activity(next(), 'finish', { status, stage: st.stage, error });
  return { status, stage: st.stage, outcome: st.outcome ?? 'failed' };
}
