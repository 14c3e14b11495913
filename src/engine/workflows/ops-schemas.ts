import { z } from 'zod';

/**
 * The contracts of seed 000's ops change control: the run's input and the artifact each agent
 * produces. Agents (the rule-based provider or a model) must answer with these shapes; the
 * engine validates every answer before it becomes a run artifact.
 */

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time' });

export const CHANGE_TYPES = [
  'database_schema',
  'configuration',
  'infrastructure',
  'application_release',
  'access_change',
] as const;
export const CRITICALITIES = ['low', 'medium', 'high', 'critical'] as const;
export const ENVIRONMENTS = ['production', 'staging', 'development'] as const;
export const DATA_CLASSES = ['public', 'internal', 'confidential', 'restricted'] as const;
export const COMPLIANCE = ['SOX', 'PCI-DSS', 'HIPAA', 'GDPR', 'ISO27001', 'SOC2'] as const;
export const RISK_TIERS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

/** One configuration key to change: from its current value to the new one. */
export const configChange = z.strictObject({
  service: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be a lowercase service name'),
  key: z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a config key (letters, digits, _ . -)'),
  from: z.string().max(2000).nullable().describe('The value expected now (null: unset).'),
  to: z.string().max(2000).describe('The value to set.'),
});
export type ConfigChange = z.infer<typeof configChange>;

/** What the change does, per change type: the planner turns it into governed tool calls. */
export const changeParameters = z.strictObject({
  /** database_schema: the demo target database and the catalog migration version. */
  database: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,62}$/)
    .optional(),
  migration_version: z.string().min(1).max(32).optional(),
  /** configuration (and the config part of other types): keys to change. */
  config_changes: z.array(configChange).max(50).optional(),
  /** Who is told when the change starts and ends. */
  notify_channel: z.string().min(1).max(100).optional(),
});

export const opsChangeInput = z
  .strictObject({
    change_request: z.strictObject({
      title: z.string().trim().min(3).max(200),
      summary: z.string().trim().min(1).max(4000),
      change_type: z.enum(CHANGE_TYPES),
      requested_by: z.string().trim().min(1).max(200),
      ticket: z.string().max(100).optional(),
    }),
    impacted_systems: z
      .array(
        z.strictObject({
          name: z.string().trim().min(1).max(200),
          criticality: z.enum(CRITICALITIES),
          environment: z.enum(ENVIRONMENTS),
          owner: z.string().max(200).optional(),
          data_classification: z.enum(DATA_CLASSES).optional(),
        }),
      )
      .min(1, 'name at least one impacted system')
      .max(100),
    requirements: z.strictObject({
      compliance: z.array(z.enum(COMPLIANCE)).max(COMPLIANCE.length).default([]),
      max_risk_tier: z.enum(RISK_TIERS).optional(),
      notes: z.string().max(2000).optional(),
    }),
    change_window: z.strictObject({
      start: isoTime,
      end: isoTime,
    }),
    parameters: changeParameters.default({}),
  })
  .superRefine((v, ctx) => {
    if (Date.parse(v.change_window.end) <= Date.parse(v.change_window.start))
      ctx.addIssue({
        code: 'custom',
        path: ['change_window', 'end'],
        message: 'must be after change_window.start',
      });
    const p = v.parameters;
    const type = v.change_request.change_type;
    if (type === 'database_schema' && (!p.database || !p.migration_version))
      ctx.addIssue({
        code: 'custom',
        path: ['parameters'],
        message:
          'a database_schema change names parameters.database and parameters.migration_version',
      });
    if (type === 'configuration' && !p.config_changes?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['parameters', 'config_changes'],
        message: 'a configuration change lists at least one config change',
      });
  });
export type OpsChangeInput = z.infer<typeof opsChangeInput>;

/** Intake agent: the normalized bundle every later agent works from. */
export const intakeBundle = z.strictObject({
  title: z.string(),
  summary: z.string(),
  change_type: z.enum(CHANGE_TYPES),
  requested_by: z.string(),
  ticket: z.string().nullable(),
  systems: z.array(
    z.strictObject({
      name: z.string(),
      criticality: z.enum(CRITICALITIES),
      environment: z.enum(ENVIRONMENTS),
      owner: z.string().nullable(),
      data_classification: z.enum(DATA_CLASSES),
    }),
  ),
  environments: z.array(z.enum(ENVIRONMENTS)),
  highest_criticality: z.enum(CRITICALITIES),
  compliance: z.array(z.enum(COMPLIANCE)),
  max_risk_tier: z.enum(RISK_TIERS).nullable(),
  window: z.strictObject({ start: isoTime, end: isoTime, duration_minutes: z.number().int() }),
  parameters: changeParameters,
  warnings: z.array(z.string()),
});
export type IntakeBundle = z.infer<typeof intakeBundle>;

/** Risk agent: tier, why, and the governance the change needs. */
export const riskAssessment = z.strictObject({
  risk_tier: z.enum(RISK_TIERS),
  score: z.number().int().min(0).max(100),
  factors: z.array(
    z.strictObject({ factor: z.string(), points: z.number().int(), detail: z.string() }),
  ),
  governance_level: z.enum(['standard', 'enhanced', 'strict']),
  /** Approvals the plan gate needs (distinct reviewers). */
  required_approvals: z.number().int().min(1).max(5),
  /**
   * Roles of which a reviewer must hold one; empty: any reviewer. Under strict governance the
   * plan gate needs one approval from each of them (ops-change-control.ts).
   */
  required_roles: z.array(z.string()),
  exceeds_max_tier: z.boolean(),
  summary: z.string(),
});
export type RiskAssessment = z.infer<typeof riskAssessment>;

/** A governed tool call: exactly what will be proposed, approved and run. */
export const plannedCall = z.strictObject({
  tool: z.string().min(1).max(200),
  params: z.record(z.string(), z.json()),
});
export type PlannedCall = z.infer<typeof plannedCall>;

/** Change planner: ordered steps, each with its rollback, checkpoint and evidence. */
export const changePlan = z.strictObject({
  change_type: z.enum(CHANGE_TYPES),
  steps: z
    .array(
      z.strictObject({
        id: z.string().regex(/^[a-z0-9_-]{1,64}$/),
        title: z.string(),
        call: plannedCall,
        /** Runs if this step or a later one fails (in reverse order); null: nothing to undo. */
        rollback: plannedCall.nullable(),
        checkpoint: z.string(),
        evidence: z.array(z.string()),
      }),
    )
    .min(1)
    .max(50),
  rollback_plan: z.array(z.string()),
  monitoring_checkpoints: z.array(z.string()),
  evidence_requirements: z.array(z.string()),
  acceptance_criteria: z.array(z.string()),
});
export type ChangePlan = z.infer<typeof changePlan>;

/** Audit agent: the run's summary, published read-only as Markdown and JSON. */
export const auditReport = z.strictObject({
  outcome: z.enum(['closed', 'rejected', 'failed']),
  headline: z.string(),
  markdown: z.string(),
  summary: z.record(z.string(), z.json()),
});
export type AuditReport = z.infer<typeof auditReport>;
