/**
 * One scenario for every front door: seed 002's complete example, extended with a policy
 * denial, a self-approval attempt, an edit that another reviewer approves (its editor may not)
 * and a dry run. A driver sends each step through
 * its surface; `as` names who acts (the operator, or an actor through that actor's token).
 */
export type Outcome = { ok: true; result: Record<string, unknown> } | { ok: false; code: string };

export interface Driver {
  call(op: string, input: Record<string, unknown>, as: string): Promise<Outcome>;
}

export interface Step {
  readonly op: string;
  readonly input: Record<string, unknown>;
  readonly as: string;
  /** The error code the step must fail with; absent means it must succeed. */
  readonly fails?: string;
}

const migration = { version: '2.1.0', rollback_plan: 'enabled' };
const edits = { maintenance_window: '2:00-4:00 AM UTC', notification_channels: ['slack', 'email'] };

export const PARITY_STEPS: readonly Step[] = [
  { op: 'register_actor', input: { name: 'Alice', role: 'Developer' }, as: 'operator' },
  { op: 'register_actor', input: { name: 'Bob', role: 'Senior Developer' }, as: 'operator' },
  { op: 'register_actor', input: { name: 'Carol', role: 'DevOps Engineer' }, as: 'operator' },
  { op: 'create_token', input: { actor_id: 'actor_1', name: 'alice' }, as: 'operator' },
  { op: 'create_token', input: { actor_id: 'actor_2', name: 'bob' }, as: 'operator' },
  { op: 'create_token', input: { actor_id: 'actor_3', name: 'carol' }, as: 'operator' },
  { op: 'start_workflow', input: { title: 'Production Database Migration' }, as: 'operator' },
  {
    op: 'propose_action',
    input: {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'database_backup',
      params: { database: 'production', backup_type: 'full' },
      reason: 'Creating backup before migration',
    },
    as: 'actor_1',
  },
  {
    op: 'review_action',
    input: { proposal_id: 'proposal_1', reviewer_id: 'actor_1', decision: 'approve' },
    as: 'actor_1',
    fails: 'SELF_APPROVAL',
  },
  {
    op: 'review_action',
    input: { proposal_id: 'proposal_1', reviewer_id: 'actor_2', decision: 'approve' },
    as: 'actor_2',
  },
  { op: 'execute_action', input: { proposal_id: 'proposal_1', dry_run: true }, as: 'operator' },
  { op: 'execute_action', input: { proposal_id: 'proposal_1' }, as: 'operator' },
  {
    op: 'propose_action',
    input: {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'update_status',
      params: { status: 'in_progress' },
      reason: 'Mark the change as running',
    },
    as: 'actor_1',
    fails: 'POLICY_DENIED',
  },
  {
    op: 'propose_action',
    input: {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'database_migration',
      params: migration,
      reason: 'Applying schema changes for new features',
    },
    as: 'actor_1',
  },
  {
    op: 'review_action',
    input: {
      proposal_id: 'proposal_2',
      reviewer_id: 'actor_3',
      decision: 'edit',
      edits: { params: edits },
    },
    as: 'actor_3',
  },
  {
    op: 'review_action',
    input: { proposal_id: 'proposal_2', reviewer_id: 'actor_3', decision: 'approve' },
    as: 'actor_3',
    fails: 'SELF_APPROVAL',
  },
  {
    op: 'review_action',
    input: { proposal_id: 'proposal_2', reviewer_id: 'actor_2', decision: 'approve' },
    as: 'actor_2',
  },
  {
    op: 'execute_parallel',
    input: {
      calls: [
        { tool: 'database_migration', params: { ...migration, ...edits } },
        {
          tool: 'send_notification',
          params: { channel: 'slack', message: 'Database migration starting in 5 minutes' },
        },
      ],
    },
    as: 'operator',
  },
  { op: 'get_audit_log', input: { workflow_id: 'workflow_1' }, as: 'operator' },
  { op: 'verify_audit', input: {}, as: 'operator' },
];

/** The step `serve` performs on its first start; other surfaces run it as step zero. */
export const ADMIN_TOKEN_STEP: Step = {
  op: 'create_token',
  input: { actor_id: 'operator', name: 'admin' },
  as: 'operator',
};

/** Runs the steps, failing loudly when a step's outcome is not the expected one. */
export async function runParity(driver: Driver, steps: readonly Step[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const [i, step] of steps.entries()) {
    const outcome = await driver.call(step.op, step.input, step.as);
    const expected = step.fails ?? 'success';
    const got = outcome.ok ? 'success' : outcome.code;
    if (got !== expected)
      throw new Error(`step ${i} ${step.op} as ${step.as}: expected ${expected}, got ${got}`);
    outcomes.push(outcome);
  }
  return outcomes;
}
