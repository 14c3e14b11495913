/**
 * The happy path of each workflow definition's stages, for the run timeline. A run that leaves
 * the path (rejected, failed, cancelled) shows where it left it.
 */
export const STAGE_PATHS: Readonly<Record<string, readonly string[]>> = {
  ops_change_control: ['intake', 'risk_review', 'plan_approved', 'execution', 'closed'],
  safe_ai_assisted: ['intake', 'drafting', 'approval', 'execution', 'completed'],
};

export type StepState = 'done' | 'current' | 'todo' | 'off-path';

export interface TimelineStep {
  readonly stage: string;
  readonly state: StepState;
}

/** The run's position on its definition's stage path. */
export function timeline(definition: string, stage: string, status: string): TimelineStep[] {
  const path = STAGE_PATHS[definition] ?? [stage];
  const at = path.indexOf(stage);
  if (at < 0) {
    // Off the happy path (rejected, failed): the path up to where it was, then the exit.
    return [
      { stage: path[0] ?? stage, state: 'done' },
      { stage, state: 'off-path' },
    ];
  }
  const finished = status === 'completed' && at === path.length - 1;
  return path.map((s, i) => ({
    stage: s,
    state: i < at || (finished && i === at) ? 'done' : i === at ? 'current' : 'todo',
  }));
}
