import type { CallContext } from '../core/context.js';
import { CountersignError } from '../core/errors.js';
import type { WorkflowRun } from '../core/model.js';
import { parseInput } from '../core/validation.js';
import type { WorkflowOps } from '../core/workflow-ops.js';
import { startRunInput } from '../core/workflow-schemas.js';
import type { ToolDefinition } from '../core/ports/tools.js';
import { agentToolProblems, validateDefinition, type WorkflowDefinition } from './definition.js';
import { assertProposalOnly } from './plan-only.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDefinition = WorkflowDefinition<any>;

/**
 * The definitions a runtime runs, by name. Both runtimes start runs the same way through it:
 * the same input checks, the same run record in the store, the same errors.
 */
export class DefinitionCatalogue {
  private readonly defs = new Map<string, AnyDefinition>();

  /**
   * `tools`: the registered tools, where they are known (the runtimes that start runs), so a
   * plan-only definition that lists a tool able to write is refused at registration.
   */
  constructor(
    definitions: readonly AnyDefinition[],
    private readonly tools?: readonly ToolDefinition[],
  ) {
    for (const d of definitions) {
      validateDefinition(d);
      assertProposalOnly(d, tools);
      if (this.defs.has(d.name))
        throw new Error(`Workflow definition "${d.name}" is declared twice`);
      this.defs.set(d.name, d);
    }
  }

  list() {
    return [...this.defs.values()].map((d) => ({
      name: d.name,
      version: d.version,
      description: d.description,
    }));
  }

  get(name: string): AnyDefinition {
    const def = this.defs.get(name);
    if (!def)
      throw new CountersignError(
        'NOT_FOUND',
        `No workflow definition "${name}". Known: ${[...this.defs.keys()].join(', ')}.`,
        { kind: 'definition', id: name, known: [...this.defs.keys()] },
      );
    return def;
  }

  /** The definition a stored run was started with, refusing one this process runs differently. */
  forRun(run: WorkflowRun): AnyDefinition {
    const def = this.get(run.definition);
    if (def.version !== run.definition_version)
      throw new CountersignError(
        'INVALID_STATE',
        `${run.id} was started with ${def.name} ${run.definition_version}; this process has ${def.version}.`,
      );
    return def;
  }

  /**
   * Validates a start request against its definition and records the run (or finds the run
   * the same idempotency key started before). Nothing is written for bad input.
   */
  async createRun(
    ops: WorkflowOps,
    ctx: CallContext,
    input: unknown,
  ): Promise<{ run: WorkflowRun; created: boolean }> {
    const args = parseInput(startRunInput, input, 'start_workflow_run input');
    const def = this.get(args.definition);
    const checked = def.input.safeParse(args.input);
    if (!checked.success) {
      const issues = checked.error.issues.map((i) => ({
        path: ['input', ...i.path].join('.'),
        message: i.message,
      }));
      throw new CountersignError(
        'VALIDATION_FAILED',
        `Invalid input for ${def.name}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        { issues },
      );
    }
    const allowed_tools = def.allowed_tools(checked.data);
    // An agent may ask only for tools the run allows: a definition whose tools depend on its
    // input is checked here, before anything is written.
    const toolProblems = agentToolProblems(def, allowed_tools);
    if (toolProblems.length > 0)
      throw new CountersignError(
        'VALIDATION_FAILED',
        `${def.name} cannot run with this input: ${toolProblems.join('; ')}`,
        { issues: toolProblems.map((message) => ({ path: 'input', message })) },
      );
    // The list a run gets is checked again: a function may answer otherwise for this input.
    assertProposalOnly(def, this.tools ?? ops.kernel.listTools(), allowed_tools);
    return ops.createRun(ctx, {
      definition: def.name,
      definition_version: def.version,
      title: def.title(checked.data),
      input: args.input,
      idempotency_key: args.idempotency_key,
      stage: def.initial_stage,
      allowed_tools,
      case_id: def.case_id?.(checked.data) ?? null,
      ...(def.archetype ? { archetype: def.archetype } : {}),
      ...(def.start_action ? { start_action: def.start_action } : {}),
    });
  }
}
