/**
 * The deterministic `rules` model provider: one hand-written agent per role, so the seed
 * workflows run end to end without a language model. No clock, no randomness, no I/O: the same
 * request gives the same output, byte for byte. Every answer has the shape of the artifact
 * schema of its role (ops-schemas.ts, safe-ai-schemas.ts); inputs are validated on the way in.
 */
import { z } from 'zod';
import { canonicalJson } from '../../core/canonical.js';
import { CountersignError } from '../../core/errors.js';
import type { JsonObject, JsonValue } from '../../core/model.js';
import type {
  ModelMessage,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelToolCall,
} from '../../core/ports/model.js';
import { parseInput } from '../../core/validation.js';
import {
  type AuditReport,
  type ChangePlan,
  type ConfigChange,
  type IntakeBundle,
  type PlannedCall,
  type RiskAssessment,
  type RiskTier,
  changePlan,
  intakeBundle,
  opsChangeInput,
  riskAssessment,
} from '../../engine/workflows/ops-schemas.js';
import type { DraftResponse } from '../../engine/workflows/safe-ai-schemas.js';
import {
  planWriter,
  schemaPlanner,
  schemaReviewer,
  schemaScopeAgent,
} from './rules-schema-plan.js';

// ---------------------------------------------------------------------------------------------
// Shared helpers

type Criticality = IntakeBundle['systems'][number]['criticality'];
type DataClass = IntakeBundle['systems'][number]['data_classification'];
type ChangeType = IntakeBundle['change_type'];

const CRITICALITY_RANK: Record<Criticality, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const DATA_RANK: Record<DataClass, number> = {
  public: 0,
  internal: 1,
  confidential: 2,
  restricted: 3,
};
const TIER_RANK: Record<RiskTier, number> = { low: 0, medium: 1, high: 2, critical: 3 };

/** Code-unit order: unlike localeCompare, the same on every machine. */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function uniqueSorted<T extends string>(values: readonly T[]): T[] {
  return [...new Set(values)].sort(byText);
}

/** One line: runs of whitespace become one space. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Paragraphs kept, line ends unified, spaces collapsed, at most one blank line in a row. */
function paragraphs(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.replace(/[^\S\n]+/g, ' ').trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function utcTime(iso: string): string {
  const d = new Date(Date.parse(iso));
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}

/** A change window as the migration tool records it: `HH:MM-HH:MM UTC`. */
export function windowLabel(window: { start: string; end: string }): string {
  return `${utcTime(window.start)}-${utcTime(window.end)} UTC`;
}

function validationError(message: string, details: JsonObject = {}): CountersignError {
  return new CountersignError('VALIDATION_FAILED', message, details);
}

// ---------------------------------------------------------------------------------------------
// intake_agent: { request: OpsChangeInput } → IntakeBundle

const SHORT_WINDOW_MINUTES = 30;
const LONG_WINDOW_MINUTES = 8 * 60;
const SEMVER = /^\d+\.\d+\.\d+$/;
/** Names the demo target's database tools refuse (its own outbox and status records). */
const RESERVED_DATABASES = new Set(['ops']);

function intakeAgent(input: JsonObject): IntakeBundle {
  const { request } = parseInput(
    z.object({ request: opsChangeInput }),
    input,
    'intake_agent input',
  );
  const cr = request.change_request;
  const systems = request.impacted_systems
    .map((s) => {
      const owner = s.owner === undefined ? '' : oneLine(s.owner);
      return {
        name: oneLine(s.name),
        criticality: s.criticality,
        environment: s.environment,
        owner: owner === '' ? null : owner,
        data_classification: s.data_classification ?? ('internal' as const),
      };
    })
    .sort(
      (a, b) =>
        CRITICALITY_RANK[b.criticality] - CRITICALITY_RANK[a.criticality] ||
        byText(a.name.toLowerCase(), b.name.toLowerCase()) ||
        byText(a.name, b.name) ||
        byText(a.environment, b.environment),
    );
  const highest = systems.reduce<Criticality>(
    (h, s) => (CRITICALITY_RANK[s.criticality] > CRITICALITY_RANK[h] ? s.criticality : h),
    'low',
  );
  const startMs = Date.parse(request.change_window.start);
  const endMs = Date.parse(request.change_window.end);
  const window = {
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    duration_minutes: Math.round((endMs - startMs) / 60_000),
  };
  const ticket = cr.ticket === undefined ? '' : oneLine(cr.ticket);
  const compliance = uniqueSorted(request.requirements.compliance);

  const p = request.parameters;
  const parameters: IntakeBundle['parameters'] = {};
  if (p.database !== undefined) parameters.database = p.database;
  if (p.migration_version !== undefined) parameters.migration_version = p.migration_version.trim();
  if (p.config_changes !== undefined)
    parameters.config_changes = p.config_changes.map((c) => ({ ...c }));
  if (p.notify_channel !== undefined && p.notify_channel.trim() !== '')
    parameters.notify_channel = p.notify_channel.trim();

  const warnings: string[] = [];
  if (ticket === '')
    warnings.push('No ticket is referenced; link the change to a ticket for the audit trail.');
  for (const s of systems)
    if (s.environment === 'production' && s.owner === null)
      warnings.push(`Production system "${s.name}" has no owner.`);
  const seen = new Set<string>();
  for (const s of systems) {
    const k = `${s.name.toLowerCase()}\u0000${s.environment}`;
    if (seen.has(k)) warnings.push(`System "${s.name}" (${s.environment}) is listed twice.`);
    seen.add(k);
  }
  if (window.duration_minutes < SHORT_WINDOW_MINUTES)
    warnings.push(
      `The change window is ${plural(window.duration_minutes, 'minute')}, shorter than ${SHORT_WINDOW_MINUTES} minutes: little time to verify or roll back.`,
    );
  if (window.duration_minutes > LONG_WINDOW_MINUTES)
    warnings.push(
      `The change window is ${plural(window.duration_minutes, 'minute')}, longer than 8 hours; consider splitting the change.`,
    );
  const restricted = systems.filter((s) => s.data_classification === 'restricted');
  if (restricted.length > 0 && compliance.length === 0)
    warnings.push(
      `Restricted data (${restricted.map((s) => s.name).join(', ')}) but no compliance requirement is listed.`,
    );
  if (cr.change_type === 'database_schema') {
    if (parameters.migration_version !== undefined && !SEMVER.test(parameters.migration_version))
      warnings.push(
        `Migration version "${parameters.migration_version}" is not a semantic version such as "2.1.0"; the migration tool will refuse it.`,
      );
    if (parameters.database !== undefined && RESERVED_DATABASES.has(parameters.database))
      warnings.push(
        `Database "${parameters.database}" is reserved by the demo target; the database tools will refuse it.`,
      );
  }
  const keys = new Set<string>();
  for (const c of parameters.config_changes ?? []) {
    const k = `${c.service}.${c.key}`;
    if (keys.has(k)) warnings.push(`Config key ${k} is changed more than once.`);
    keys.add(k);
    if (c.from === c.to) warnings.push(`Config change ${k} sets the value it expects; a no-op.`);
  }
  if (
    cr.change_type !== 'database_schema' &&
    cr.change_type !== 'configuration' &&
    !parameters.config_changes?.length
  )
    warnings.push(
      `No governed tool performs this ${cr.change_type} change; the plan can only record its status.`,
    );

  return {
    title: oneLine(cr.title),
    summary: paragraphs(cr.summary),
    change_type: cr.change_type,
    requested_by: oneLine(cr.requested_by),
    ticket: ticket === '' ? null : ticket,
    systems,
    environments: uniqueSorted(systems.map((s) => s.environment)),
    highest_criticality: highest,
    compliance,
    max_risk_tier: request.requirements.max_risk_tier ?? null,
    window,
    parameters,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------
// risk_agent: { intake } → RiskAssessment
//
// Points model (score = min(100, sum); only rules that add points are listed as factors):
//
// | rule                         | points                                                    |
// |------------------------------|-----------------------------------------------------------|
// | highest system criticality   | critical 40, high 25, medium 10, low 0                    |
// | more high/critical systems   | +5 for each beyond the first, at most +15                 |
// | production environment       | +15 when any system is in production                      |
// | change type                  | database_schema 20, infrastructure 20, access_change 15,  |
// |                              | application_release 10, configuration 5                   |
// | compliance                   | SOX, PCI-DSS, HIPAA +10 each; others +5 each; at most +25 |
// | data classification          | restricted +15, confidential +8 (highest of the systems)  |
// | short window                 | +10 when shorter than 30 minutes (off-hours adds nothing) |
// | many config changes          | +5 when more than 5 keys change                           |
//
// Tier: score < 25 low, < 50 medium, < 75 high, else critical.

const CRITICALITY_POINTS: Record<Criticality, number> = {
  critical: 40,
  high: 25,
  medium: 10,
  low: 0,
};
const EXTRA_SYSTEM_POINTS = 5;
const EXTRA_SYSTEM_CAP = 15;
const PRODUCTION_POINTS = 15;
const CHANGE_TYPE_POINTS: Record<ChangeType, number> = {
  database_schema: 20,
  infrastructure: 20,
  access_change: 15,
  application_release: 10,
  configuration: 5,
};
const HEAVY_COMPLIANCE = new Set(['SOX', 'PCI-DSS', 'HIPAA']);
const HEAVY_COMPLIANCE_POINTS = 10;
const OTHER_COMPLIANCE_POINTS = 5;
const COMPLIANCE_CAP = 25;
const DATA_POINTS: Partial<Record<DataClass, number>> = { restricted: 15, confidential: 8 };
const SHORT_WINDOW_POINTS = 10;
const MANY_CONFIG_CHANGES = 5;
const MANY_CONFIG_POINTS = 5;

interface Governance {
  level: RiskAssessment['governance_level'];
  approvals: number;
  roles: string[];
}

const GOVERNANCE: Record<RiskTier, Governance> = {
  low: { level: 'standard', approvals: 1, roles: [] },
  medium: { level: 'standard', approvals: 1, roles: ['change_manager'] },
  high: { level: 'enhanced', approvals: 2, roles: ['change_manager', 'service_owner'] },
  critical: { level: 'strict', approvals: 2, roles: ['change_manager', 'security'] },
};

function tierOf(score: number): RiskTier {
  if (score < 25) return 'low';
  if (score < 50) return 'medium';
  if (score < 75) return 'high';
  return 'critical';
}

type Factor = RiskAssessment['factors'][number];

function riskFactors(intake: IntakeBundle): Factor[] {
  const factors: Factor[] = [];
  const add = (factor: string, points: number, detail: string) => {
    if (points > 0) factors.push({ factor, points, detail });
  };
  const top = intake.systems.filter((s) => s.criticality === intake.highest_criticality);
  add(
    'criticality',
    CRITICALITY_POINTS[intake.highest_criticality],
    `highest criticality ${intake.highest_criticality}: ${top.map((s) => s.name).join(', ')}`,
  );
  const heavy = intake.systems.filter((s) => CRITICALITY_RANK[s.criticality] >= 2);
  const extra = heavy.slice(1);
  add(
    'additional_critical_systems',
    Math.min(EXTRA_SYSTEM_CAP, EXTRA_SYSTEM_POINTS * extra.length),
    `${plural(extra.length, 'more high or critical system')} (${extra.map((s) => s.name).join(', ')}): +${EXTRA_SYSTEM_POINTS} each, at most +${EXTRA_SYSTEM_CAP}`,
  );
  const production = intake.systems.filter((s) => s.environment === 'production');
  add(
    'production',
    production.length > 0 ? PRODUCTION_POINTS : 0,
    `production systems: ${production.map((s) => s.name).join(', ')}`,
  );
  add('change_type', CHANGE_TYPE_POINTS[intake.change_type], `change type ${intake.change_type}`);
  const compliance = intake.compliance.map((c) => ({
    c,
    points: HEAVY_COMPLIANCE.has(c) ? HEAVY_COMPLIANCE_POINTS : OTHER_COMPLIANCE_POINTS,
  }));
  const complianceSum = compliance.reduce((n, x) => n + x.points, 0);
  add(
    'compliance',
    Math.min(COMPLIANCE_CAP, complianceSum),
    `${compliance.map((x) => `${x.c} +${x.points}`).join(', ')}${complianceSum > COMPLIANCE_CAP ? ` (capped at ${COMPLIANCE_CAP})` : ''}`,
  );
  const data = intake.systems.reduce<DataClass>(
    (h, s) => (DATA_RANK[s.data_classification] > DATA_RANK[h] ? s.data_classification : h),
    'public',
  );
  add(
    'data_classification',
    DATA_POINTS[data] ?? 0,
    `${data} data on ${intake.systems
      .filter((s) => s.data_classification === data)
      .map((s) => s.name)
      .join(', ')}`,
  );
  add(
    'short_window',
    intake.window.duration_minutes < SHORT_WINDOW_MINUTES ? SHORT_WINDOW_POINTS : 0,
    `a ${plural(intake.window.duration_minutes, 'minute')} window leaves little time to verify or roll back`,
  );
  const configCount = intake.parameters.config_changes?.length ?? 0;
  add(
    'config_change_count',
    configCount > MANY_CONFIG_CHANGES ? MANY_CONFIG_POINTS : 0,
    `${plural(configCount, 'configuration change')} in one run (more than ${MANY_CONFIG_CHANGES})`,
  );
  return factors;
}

function riskAgent(input: JsonObject): RiskAssessment {
  const { intake } = parseInput(z.object({ intake: intakeBundle }), input, 'risk_agent input');
  const factors = riskFactors(intake);
  const raw = factors.reduce((n, f) => n + f.points, 0);
  const score = Math.min(100, raw);
  const tier = tierOf(score);
  const g = GOVERNANCE[tier];
  const exceeds =
    intake.max_risk_tier !== null && TIER_RANK[tier] > TIER_RANK[intake.max_risk_tier];

  const main = [...factors]
    .sort((a, b) => b.points - a.points)
    .slice(0, 3)
    .map((f) => `${f.factor.replace(/_/g, ' ')} (+${f.points})`);
  const who =
    g.roles.length === 0
      ? `${plural(g.approvals, 'approval')} from any reviewer`
      : g.level === 'strict'
        ? `${plural(g.approvals, 'approval')}, one from each of ${g.roles.join(' and ')}`
        : `${plural(g.approvals, 'approval')} from reviewers holding ${g.roles.join(' or ')}`;
  const parts = [
    `Risk tier ${tier} (score ${score} of 100${raw > 100 ? `, ${raw} points before the cap` : ''}) for the ${intake.change_type} change "${intake.title}" on ${plural(intake.systems.length, 'system')} (highest criticality ${intake.highest_criticality}; ${intake.environments.join(', ')}).`,
    `Main factors: ${main.join(', ')}.`,
    `Governance ${g.level}: ${who}.`,
  ];
  if (exceeds)
    parts.push(
      `This exceeds the maximum tier allowed for the change (${intake.max_risk_tier}): reduce its scope or have the limit raised before approving.`,
    );
  if (intake.warnings.length > 0)
    parts.push(`Intake raised ${plural(intake.warnings.length, 'warning')} for the reviewer.`);

  return {
    risk_tier: tier,
    score,
    factors,
    governance_level: g.level,
    required_approvals: g.approvals,
    required_roles: [...g.roles],
    exceeds_max_tier: exceeds,
    summary: parts.join(' '),
  };
}

// ---------------------------------------------------------------------------------------------
// change_planner: { intake, risk, feedback } → ChangePlan
//
// Templates (ids `s<n>-<slug>`, numbered after all steps are placed):
//   database_schema: notify-start, backup (full), migrate (versioned, rollback_plan "enabled"),
//                    status "migrated", notify-done; the migration's rollback records status
//                    "rolled_back" (the demo target has no down-migration tool).
//   configuration:   notify-start, one config_set per change (expect_previous: from; rollback sets
//                    from, or "" when from is null, expecting to), status "configured", notify-done.
//   other types:     their config changes as above with status "configured"; without any, one
//                    update_status "acknowledged" (the change itself happens out of band).
// The start notification's rollback tells the same audience that the change was rolled back.

/** send_notification's channel enum; any other target is sent as a recipient. */
const NOTIFY_CHANNELS = new Set(['slack', 'email', 'pagerduty', 'webhook']);
const DEFAULT_NOTIFY = 'ops';
const MAX_MESSAGE = 2000;

interface DraftStep {
  slug: string;
  title: string;
  call: PlannedCall;
  rollback: PlannedCall | null;
  checkpoint: string;
  evidence: string[];
}

function notifyCall(target: string, message: string): PlannedCall {
  const m = clip(message, MAX_MESSAGE);
  return {
    tool: 'send_notification',
    params: NOTIFY_CHANNELS.has(target)
      ? { channel: target, message: m }
      : { recipient: target, message: m },
  };
}

function statusCall(status: string, note: string): PlannedCall {
  return { tool: 'update_status', params: { status, note: clip(note, 2000) } };
}

function quoted(value: string | null): string {
  return value === null ? 'unset' : `"${clip(value, 60)}"`;
}

interface PlanContext {
  intake: IntakeBundle;
  target: string;
  ref: string;
  window: string;
}

function notifyStartStep(c: PlanContext): DraftStep {
  const systems = c.intake.systems.map((s) => s.name).join(', ');
  return {
    slug: 'notify-start',
    title: `Notify ${c.target} that the change starts`,
    call: notifyCall(
      c.target,
      `${c.ref}Starting ${c.intake.change_type} change "${c.intake.title}" in window ${c.window}. Systems: ${systems}.`,
    ),
    rollback: notifyCall(
      c.target,
      `${c.ref}Change "${c.intake.title}" did not complete and was rolled back; see the run's audit report.`,
    ),
    checkpoint: 'Stakeholders are informed before the first write',
    evidence: ['notification outbox rows for start and completion'],
  };
}

function notifyDoneStep(c: PlanContext, status: string): DraftStep {
  return {
    slug: 'notify-done',
    title: `Notify ${c.target} that the change is complete`,
    call: notifyCall(
      c.target,
      `${c.ref}Completed ${c.intake.change_type} change "${c.intake.title}" (status ${status}).`,
    ),
    rollback: null,
    checkpoint: 'Stakeholders are told the change is complete',
    evidence: ['notification outbox rows for start and completion'],
  };
}

function backupStep(database: string): DraftStep {
  return {
    slug: 'backup',
    title: `Take a full backup of database "${database}"`,
    call: { tool: 'database_backup', params: { database, backup_type: 'full' } },
    rollback: null,
    checkpoint: `The backup of "${database}" exists and is non-empty before anything changes`,
    evidence: ['backup file path and size'],
  };
}

function configSteps(changes: readonly ConfigChange[]): DraftStep[] {
  return changes.map((ch, i) => ({
    slug: `config-${i + 1}`,
    title: `Set ${ch.service} ${ch.key} from ${quoted(ch.from)} to ${quoted(ch.to)}`,
    call: {
      tool: 'config_set',
      params: { service: ch.service, key: ch.key, value: ch.to, expect_previous: ch.from },
    },
    rollback: {
      tool: 'config_set',
      params: { service: ch.service, key: ch.key, value: ch.from ?? '', expect_previous: ch.to },
    },
    checkpoint: `${ch.service} reads ${ch.key} = ${quoted(ch.to)}`,
    evidence: [`config file diff for ${ch.service} ${ch.key} (previous and new value)`],
  }));
}

const ROLLBACK_ORDER =
  'If a step fails, the run stops and the rollback calls of that step and every earlier step run in reverse order.';
const CONFIG_ROLLBACK =
  'Each config_set rollback restores the previous value only while the key still holds the new one (expect_previous), so it never overwrites a later change; a key that was unset is restored as "" (the demo tool cannot unset a key).';

interface Template {
  steps: DraftStep[];
  rollback_plan: string[];
  monitoring: string[];
  evidence: string[];
  acceptance: string[];
}

function databaseTemplate(c: PlanContext): Template {
  const database = c.intake.parameters.database;
  const version = c.intake.parameters.migration_version;
  if (database === undefined || version === undefined)
    throw validationError(
      'change_planner: a database_schema change needs parameters.database and parameters.migration_version',
    );
  const params: JsonObject = {
    version,
    rollback_plan: 'enabled',
    maintenance_window: c.window,
    database,
  };
  if (NOTIFY_CHANNELS.has(c.target)) params.notification_channels = [c.target];
  const migrate: DraftStep = {
    slug: 'migrate',
    title: `Apply migration ${version} to database "${database}"`,
    call: { tool: 'database_migration', params },
    rollback: statusCall(
      'rolled_back',
      `Migration ${version} on "${database}" was rolled back by the plan. The demo target has no down-migration tool: restore "${database}" from the backup taken before the migration, or run the rollback_sql recorded in schema_migrations by hand.`,
    ),
    checkpoint: `schema_migrations lists ${version}; the dry-run trial of the migration succeeded`,
    evidence: [`schema_migrations row for ${version}`, 'applied statements of the migration'],
  };
  const status: DraftStep = {
    slug: 'status',
    title: 'Record status "migrated"',
    call: statusCall('migrated', `${c.ref}Migration ${version} applied to "${database}".`),
    rollback: null,
    checkpoint: 'The status record reads "migrated"',
    evidence: ['status record'],
  };
  return {
    steps: [
      notifyStartStep(c),
      backupStep(database),
      migrate,
      status,
      notifyDoneStep(c, 'migrated'),
    ],
    rollback_plan: [
      ROLLBACK_ORDER,
      `The demo target has no down-migration tool: the migration's rollback only records status "rolled_back". Restore "${database}" from the full backup taken before the migration, or apply the rollback_sql recorded with ${version} in schema_migrations (rollback_plan "enabled").`,
      `Stakeholders on ${c.target} are told that the change was rolled back.`,
    ],
    monitoring: [
      `Before the migration: the backup of "${database}" completed and is non-empty`,
      `During the window ${c.window}: migration ${version} completes in one transaction`,
      `After the migration: error rates and latency of ${c.intake.systems.map((s) => s.name).join(', ')} stay at baseline for 30 minutes`,
    ],
    evidence: ['migration dry-run (trial run) result'],
    acceptance: [
      `schema_migrations contains ${version} with its rollback SQL recorded`,
      `A non-empty full backup of "${database}" exists from before the migration`,
      'The status record reads "migrated"',
      'No new errors in dependent services for 30 minutes after the change',
    ],
  };
}

function configTemplate(c: PlanContext): Template {
  const changes = c.intake.parameters.config_changes ?? [];
  if (changes.length === 0)
    throw validationError('change_planner: a configuration change lists no config_changes');
  const other = c.intake.change_type !== 'configuration';
  const status: DraftStep = {
    slug: 'status',
    title: 'Record status "configured"',
    call: statusCall(
      'configured',
      `${c.ref}${plural(changes.length, 'configuration key')} changed${other ? `; the ${c.intake.change_type} change itself is performed outside the demo target` : ''}.`,
    ),
    rollback: null,
    checkpoint: 'The status record reads "configured"',
    evidence: ['status record'],
  };
  const rollbackPlan = [
    ROLLBACK_ORDER,
    CONFIG_ROLLBACK,
    `Stakeholders on ${c.target} are told that the change was rolled back.`,
  ];
  if (other)
    rollbackPlan.push(
      `Only the configuration part of this ${c.intake.change_type} change is governed here; roll back the rest out of band with the owning team's runbook.`,
    );
  return {
    steps: [notifyStartStep(c), ...configSteps(changes), status, notifyDoneStep(c, 'configured')],
    rollback_plan: rollbackPlan,
    monitoring: [
      'Before the window: the dry-run shows every key at its expected current value (no would_fail)',
      'After each config_set: the service reads the new value',
      `After the change: ${c.intake.systems.map((s) => s.name).join(', ')} stay healthy for 15 minutes`,
    ],
    evidence: ['config_set outputs with the previous values'],
    acceptance: [
      ...changes.map((ch) => `${ch.service} ${ch.key} = ${quoted(ch.to)}`),
      'The status record reads "configured"',
      'No rollback call ran',
      ...(other
        ? [
            `The owner confirms the ${c.intake.change_type} change itself was performed and verified`,
          ]
        : []),
    ],
  };
}

function outOfBandTemplate(c: PlanContext): Template {
  const type = c.intake.change_type;
  return {
    steps: [
      {
        slug: 'status',
        title: 'Record status "acknowledged" for the out-of-band change',
        call: statusCall(
          'acknowledged',
          `${c.ref}${type} change "${c.intake.title}" is performed out of band; Countersign records its approval and status only.`,
        ),
        rollback: null,
        checkpoint: 'The status record reads "acknowledged"',
        evidence: ['status record'],
      },
    ],
    rollback_plan: [
      `No governed tool performs a ${type} change in the demo target: the change is performed out of band and this plan only records its status.`,
      "Rolling the change back is out of band too: follow the owning team's runbook.",
    ],
    monitoring: [
      `The owner confirms the change was performed within the window ${c.window}`,
      `After the change: ${c.intake.systems.map((s) => s.name).join(', ')} stay healthy for 30 minutes`,
    ],
    evidence: [
      "owner's evidence of the out-of-band change (change log, deployment ID or ticket update)",
    ],
    acceptance: [
      'The status record reads "acknowledged"',
      'The owner has attached evidence of the out-of-band change to the ticket',
    ],
  };
}

const MENTIONS_BACKUP = /\bback[\s-]?ups?\b|\bbacked[\s-]up\b/i;
const MENTIONS_NOTIFY = /\bnotif/i;

function changePlanner(input: JsonObject): ChangePlan {
  const { intake, risk, feedback } = parseInput(
    z.object({
      intake: intakeBundle,
      risk: riskAssessment,
      feedback: z.array(z.string()).default([]),
    }),
    input,
    'change_planner input',
  );
  const c: PlanContext = {
    intake,
    target: intake.parameters.notify_channel ?? DEFAULT_NOTIFY,
    ref: intake.ticket === null ? '' : `[${intake.ticket}] `,
    window: windowLabel(intake.window),
  };
  const t =
    intake.change_type === 'database_schema'
      ? databaseTemplate(c)
      : intake.change_type === 'configuration' || intake.parameters.config_changes?.length
        ? configTemplate(c)
        : outOfBandTemplate(c);
  const steps = [...t.steps];
  const rollbackPlan = [...t.rollback_plan];
  const monitoring = [...t.monitoring];
  const acceptance = [...t.acceptance];

  if (intake.highest_criticality === 'critical')
    monitoring.push(
      `On-call for ${intake.systems
        .filter((s) => s.criticality === 'critical')
        .map((s) => s.name)
        .join(', ')} is reachable during the window`,
    );
  if (risk.governance_level !== 'standard')
    monitoring.push('A second reviewer confirms rollback readiness before the first write');
  if (risk.governance_level === 'strict')
    monitoring.push(
      'The security reviewer confirms access and data-handling controls before the window opens',
    );
  if (risk.exceeds_max_tier)
    acceptance.push(
      `The change owner has accepted a ${risk.risk_tier} risk tier above the allowed maximum (${intake.max_risk_tier ?? 'none'})`,
    );

  const comments = [...new Set(feedback.map(oneLine).filter((f) => f !== ''))];
  for (const comment of comments) acceptance.push(`Reviewer asked: ${comment}`);
  if (comments.some((f) => MENTIONS_BACKUP.test(f)) && !steps.some((s) => s.slug === 'backup')) {
    const database = intake.parameters.database;
    if (database !== undefined) {
      const at = steps[0]?.slug === 'notify-start' ? 1 : 0;
      steps.splice(at, 0, backupStep(database));
      rollbackPlan.push(
        `At a reviewer's request, "${database}" is backed up before the first write; restore it from that backup if the rollback calls are not enough.`,
      );
    } else {
      rollbackPlan.push(
        'A reviewer asked for a backup, but the change names no database: take the backup out of band before the window opens.',
      );
    }
  }
  if (
    comments.some((f) => MENTIONS_NOTIFY.test(f)) &&
    !steps.some((s) => s.call.tool === 'send_notification')
  ) {
    steps.unshift(notifyStartStep(c));
    const last = steps[steps.length - 1];
    const lastStatus = last?.call.tool === 'update_status' ? last.call.params.status : undefined;
    const status = typeof lastStatus === 'string' ? lastStatus : 'complete';
    steps.push(notifyDoneStep(c, status));
    rollbackPlan.push(
      `At a reviewer's request, ${c.target} is told when the change starts and ends.`,
    );
  }

  const evidence = [...new Set([...steps.flatMap((s) => s.evidence), ...t.evidence])];
  return {
    change_type: intake.change_type,
    steps: steps.map((s, i) => ({
      id: `s${i + 1}-${s.slug}`,
      title: s.title,
      call: s.call,
      rollback: s.rollback,
      checkpoint: s.checkpoint,
      evidence: s.evidence,
    })),
    rollback_plan: rollbackPlan,
    monitoring_checkpoints: monitoring,
    evidence_requirements: evidence,
    acceptance_criteria: acceptance,
  };
}

// ---------------------------------------------------------------------------------------------
// audit_agent: { run, intake, risk, plan, decisions, executions, rollbacks } → AuditReport

const optText = z.string().nullable().optional();
const writeBack = z.object({
  step_id: optText,
  tool: optText,
  status: optText,
  proposal_id: optText,
  execution_id: optText,
  hash: optText,
  output_summary: z.json().optional(),
  error: z.json().optional(),
});
type WriteBack = z.infer<typeof writeBack>;

const auditInput = z.object({
  run: z.object({
    id: z.string(),
    definition: optText,
    stage: optText,
    status: optText,
    started_by: optText,
    started_at: optText,
    finished_at: optText,
  }),
  intake: intakeBundle.nullable().optional(),
  risk: riskAssessment.nullable().optional(),
  plan: changePlan.nullable().optional(),
  decisions: z
    .array(
      z.object({
        gate: optText,
        decision: optText,
        reviewer_id: optText,
        comment: optText,
        at: optText,
      }),
    )
    .default([]),
  executions: z.array(writeBack).default([]),
  rollbacks: z.array(writeBack).default([]),
});

const HASH_CHARS = 12;
const READ_ONLY_NOTE = 'This report is read-only; the ledger is the record of truth.';

/** Any JSON as one line of text: strings as they are, the rest as canonical JSON. */
function show(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : canonicalJson(value);
}

/** A Markdown table cell: pipes escaped, one line, a dash when empty. */
function cell(value: string | null | undefined): string {
  const v = oneLine(value ?? '')
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|');
  return v === '' ? '—' : v;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map((v) => cell(v)).join(' | ')} |`),
  ];
}

function shortHash(hash: string | null | undefined): string {
  return hash ? hash.slice(0, HASH_CHARS) : '';
}

type Outcome = AuditReport['outcome'];

function classify(value: string | null | undefined): Outcome | null {
  const v = (value ?? '').toLowerCase();
  if (/reject/.test(v)) return 'rejected';
  if (/fail|rolled_back|cancel|abandon/.test(v)) return 'failed';
  if (/closed|complete/.test(v)) return 'closed';
  return null;
}

const failed = (w: WriteBack) => /fail|error/i.test(w.status ?? '');

function writeBackRows(list: readonly WriteBack[]): string[][] {
  return list.map((w) => [
    w.step_id ?? '',
    w.tool ?? '',
    w.status ?? '',
    w.proposal_id ?? '',
    w.execution_id ?? '',
    shortHash(w.hash) === '' ? '' : `\`${shortHash(w.hash)}\``,
    clip(show(w.error ?? null) || show(w.output_summary), 200),
  ]);
}

function writeBackSummary(list: readonly WriteBack[]): JsonValue[] {
  return list.map((w) => ({
    step_id: w.step_id ?? null,
    tool: w.tool ?? null,
    status: w.status ?? null,
    proposal_id: w.proposal_id ?? null,
    execution_id: w.execution_id ?? null,
    hash: w.hash ?? null,
    error: w.error === undefined || w.error === null ? null : show(w.error),
  }));
}

function auditAgent(input: JsonObject): AuditReport {
  const a = parseInput(auditInput, input, 'audit_agent input');
  const intake = a.intake ?? null;
  const risk = a.risk ?? null;
  const plan = a.plan ?? null;
  const run = a.run;
  const outcome: Outcome =
    classify(run.stage) ??
    classify(run.status) ??
    (a.executions.some(failed) ? 'failed' : 'closed');
  // Stable sort: decisions without a time keep their order.
  const decisions = a.decisions
    .map((d, i) => ({ d, i }))
    .sort((x, y) => byText(x.d.at ?? '', y.d.at ?? '') || x.i - y.i)
    .map((x) => x.d);
  const title = intake?.title ?? run.id;
  const succeeded = a.executions.filter((e) => !failed(e));
  const firstFailure = a.executions.find(failed);
  const planned = plan?.steps.length ?? null;

  let headline: string;
  if (outcome === 'closed') {
    headline = `Closed: "${title}"${risk ? ` (${risk.risk_tier} risk)` : ''}, ${succeeded.length}${planned === null ? '' : ` of ${planned}`} planned steps executed.`;
  } else if (outcome === 'rejected') {
    const r = [...decisions].reverse().find((d) => /reject/i.test(d.decision ?? ''));
    headline = `Rejected: "${title}"${r?.gate ? ` at ${r.gate}` : ''}${r?.reviewer_id ? ` by ${r.reviewer_id}` : ''}.${a.executions.length === 0 ? ' No governed call was executed.' : ''}`;
  } else {
    headline = firstFailure
      ? `Failed: "${title}", step ${firstFailure.step_id ?? '?'} (${firstFailure.tool ?? '?'}) failed; ${plural(a.rollbacks.length, 'rollback call')} ran.`
      : `Failed: "${title}" at stage ${run.stage ?? 'unknown'}; ${plural(a.rollbacks.length, 'rollback call')} ran.`;
  }

  const md: string[] = [`# Change audit report: ${oneLine(title)}`, ''];
  md.push(
    ...table(
      ['Field', 'Value'],
      [
        ['Run', `\`${run.id}\``],
        ['Workflow', run.definition ?? ''],
        ['Outcome', `**${outcome}**`],
        ['Stage', run.stage ?? ''],
        ['Started by', run.started_by ?? ''],
        ['Started at', run.started_at ?? ''],
        ['Finished at', run.finished_at ?? ''],
      ].filter(([, v]) => v !== ''),
    ),
    '',
    `**${headline}**`,
    '',
    '## Change',
    '',
  );
  if (intake) {
    md.push(
      intake.summary,
      '',
      `- Type: ${intake.change_type}`,
      `- Requested by: ${intake.requested_by}`,
      `- Ticket: ${intake.ticket ?? 'none'}`,
      `- Window: ${intake.window.start} to ${intake.window.end} (${plural(intake.window.duration_minutes, 'minute')})`,
      `- Compliance: ${intake.compliance.join(', ') || 'none'}`,
      `- Systems: ${intake.systems.map((s) => `${s.name} (${s.criticality}, ${s.environment}, owner ${s.owner ?? 'none'})`).join('; ')}`,
    );
    if (intake.warnings.length > 0)
      md.push('', 'Intake warnings:', '', ...intake.warnings.map((w) => `- ${w}`));
  } else {
    md.push('No intake was recorded.');
  }
  md.push('', '## Risk', '');
  if (risk) {
    md.push(
      `Risk tier **${risk.risk_tier}** (score ${risk.score}), governance ${risk.governance_level}: ${plural(risk.required_approvals, 'approval')}${risk.required_roles.length ? (risk.governance_level === 'strict' ? `, one from each of ${risk.required_roles.join(' and ')}` : ` from ${risk.required_roles.join(' or ')}`) : ''}.${risk.exceeds_max_tier ? ' The tier exceeds the maximum allowed for the change.' : ''}`,
      '',
      ...table(
        ['Factor', 'Points', 'Detail'],
        risk.factors.map((f) => [f.factor, String(f.points), f.detail]),
      ),
    );
  } else {
    md.push('No risk assessment was recorded.');
  }
  md.push('', '## Decisions', '');
  if (decisions.length > 0)
    md.push(
      ...table(
        ['#', 'Gate', 'Decision', 'Reviewer', 'At', 'Comment'],
        decisions.map((d, i) => [
          String(i + 1),
          d.gate ?? '',
          d.decision ?? '',
          d.reviewer_id ?? '',
          d.at ?? '',
          d.comment ?? '',
        ]),
      ),
    );
  else md.push('No human decisions were recorded.');
  const header = ['Step', 'Tool', 'Status', 'Proposal', 'Execution', 'Hash', 'Result'];
  md.push('', '## Executed steps', '');
  if (a.executions.length > 0) md.push(...table(header, writeBackRows(a.executions)));
  else md.push('No governed tool call was executed.');
  if (plan && planned !== null && a.executions.length < planned)
    md.push(
      '',
      `Not executed: ${plan.steps
        .filter((s) => !a.executions.some((e) => e.step_id === s.id))
        .map((s) => s.id)
        .join(', ')}.`,
    );
  md.push('', '## Rollbacks', '');
  if (a.rollbacks.length > 0) md.push(...table(header, writeBackRows(a.rollbacks)));
  else md.push('No rollback call ran.');
  const rolledBack = a.rollbacks.filter((w) => !failed(w)).length;
  const closing =
    outcome === 'closed'
      ? `The change was carried out: ${plural(succeeded.length, 'governed call')} succeeded and no step failed.`
      : outcome === 'rejected'
        ? `The change was rejected before execution; ${plural(a.executions.length, 'governed call')} ran.`
        : `The change failed${firstFailure ? ` at ${firstFailure.step_id ?? 'an unnamed step'}${firstFailure.error ? ` (${clip(show(firstFailure.error), 200)})` : ''}` : ''}: ${plural(succeeded.length, 'governed call')} succeeded before it, ${rolledBack} of ${plural(a.rollbacks.length, 'rollback call')} succeeded.`;
  md.push('', '## Outcome', '', closing, '', `_${READ_ONLY_NOTE}_`, '');

  const summary: Record<string, JsonValue> = {
    run_id: run.id,
    definition: run.definition ?? null,
    outcome,
    stage: run.stage ?? null,
    status: run.status ?? null,
    started_by: run.started_by ?? null,
    started_at: run.started_at ?? null,
    finished_at: run.finished_at ?? null,
    title: intake?.title ?? null,
    change_type: intake?.change_type ?? null,
    ticket: intake?.ticket ?? null,
    systems: intake ? intake.systems.map((s) => s.name) : [],
    risk: risk
      ? {
          tier: risk.risk_tier,
          score: risk.score,
          governance_level: risk.governance_level,
          required_approvals: risk.required_approvals,
          required_roles: risk.required_roles,
          exceeds_max_tier: risk.exceeds_max_tier,
        }
      : null,
    decisions: decisions.map((d) => ({
      gate: d.gate ?? null,
      decision: d.decision ?? null,
      reviewer_id: d.reviewer_id ?? null,
      comment: d.comment ?? null,
      at: d.at ?? null,
    })),
    executions: writeBackSummary(a.executions),
    rollbacks: writeBackSummary(a.rollbacks),
    counts: {
      planned_steps: planned,
      executed: succeeded.length,
      failed: a.executions.length - succeeded.length,
      rollbacks: a.rollbacks.length,
    },
    note: READ_ONLY_NOTE,
  };
  return { outcome, headline, markdown: md.join('\n'), summary };
}

// ---------------------------------------------------------------------------------------------
// response_drafter: { question, knowledge } → DraftResponse

/**
 * Topics that always need a human to read the draft before it goes out: money back, legal
 * matters, deleting data or accounts, credentials, security incidents and personal data.
 */
const SENSITIVE_TOPICS: readonly { topic: string; pattern: RegExp }[] = [
  { topic: 'refund', pattern: /\brefund|\bcharge-?backs?\b|\breimburse/i },
  { topic: 'legal', pattern: /\blegal|\blawsuit|\blawyer|\battorney|\bsubpoena|\bsue\b/i },
  { topic: 'deletion', pattern: /\bdelet|\berase|\berasure|\bclose (?:my |the )?account/i },
  { topic: 'password', pattern: /\bpassword|\bpassphrase|\bcredential|\b2fa\b|\bmfa\b/i },
  { topic: 'security incident', pattern: /\bbreach|\bhacked\b|\bfraud/i },
  { topic: 'personal data', pattern: /\bpersonal data|\bgdpr\b|\bpii\b/i },
];
const MAX_SOURCES = 3;
const MAX_SNIPPET = 400;

const drafterInput = z.object({
  question: z.string().min(1),
  knowledge: z
    .array(
      z.object({
        id: z.string(),
        title: z.string(),
        snippet: z.string(),
        score: z.number(),
        tags: z.array(z.string()).default([]),
      }),
    )
    .default([]),
});

/** A search snippet as plain text: highlight markers removed, whitespace collapsed. */
function plainSnippet(snippet: string): string {
  return oneLine(snippet.replace(/\*\*|<\/?(?:b|mark|em|strong)>/gi, ''));
}

function responseDrafter(input: JsonObject): DraftResponse {
  const { question, knowledge } = parseInput(drafterInput, input, 'response_drafter input');
  const byId = new Map<string, (typeof knowledge)[number]>();
  for (const hit of knowledge) {
    const seen = byId.get(hit.id);
    if (!seen || hit.score > seen.score) byId.set(hit.id, hit);
  }
  const used = [...byId.values()]
    .sort((a, b) => b.score - a.score || byText(a.id, b.id))
    .slice(0, MAX_SOURCES);
  const topics = SENSITIVE_TOPICS.filter((t) => t.pattern.test(question)).map((t) => t.topic);
  const confidence = used.length >= 2 ? 'high' : used.length === 1 ? 'medium' : 'low';
  const needsReview = used.length === 0 || topics.length > 0;
  const citations = used.map((h) => h.id);

  const answer =
    used.length === 0
      ? 'I could not find a source in our knowledge base that answers this question, so I cannot answer it reliably. A member of the team will look into it and reply.'
      : [
          'Here is what our documentation says about this:',
          '',
          ...used.map(
            (h) =>
              `- ${oneLine(h.title)} [${h.id}]: ${clip(plainSnippet(h.snippet), MAX_SNIPPET) || '(no excerpt)'}`,
          ),
          '',
          `Sources: ${citations.join(', ')}.`,
        ].join('\n');

  const reasons = [
    used.length === 0
      ? `No knowledge hit was found (${plural(knowledge.length, 'result')} retrieved); confidence low.`
      : `Used ${plural(used.length, 'source')} (${citations.join(', ')}) of ${byId.size} retrieved; confidence ${confidence} (${used.length >= 2 ? 'two or more sources agree on the topic' : 'a single source'}).`,
  ];
  if (topics.length > 0)
    reasons.push(`Human review required: the question touches ${topics.join(', ')}.`);
  else if (used.length === 0) reasons.push('Human review required: no source backs an answer.');
  else reasons.push('No sensitive topic detected; review follows policy.');

  return {
    answer,
    citations,
    confidence,
    needs_human_review: needsReview,
    rationale: reasons.join(' '),
  };
}

// ---------------------------------------------------------------------------------------------
// lookup_agent (uses tools): { lookups: [{ tool, params }] } → { results: [...] }
//
// Turn 1 asks for every lookup as a tool call; once the results are back it answers with them,
// in order, refusals included. It shows the tool loop without a language model.

const lookupInput = z.object({
  lookups: z
    .array(z.object({ tool: z.string().min(1), params: z.record(z.string(), z.json()) }))
    .max(20),
});

export interface LookupResult {
  tool: string;
  ok: boolean;
  output: JsonValue;
  code: string | null;
}

type ToolTurn = { tool_calls: ModelToolCall[] } | { output: unknown };

function lookupAgent(input: JsonObject, messages: readonly ModelMessage[]): ToolTurn {
  const { lookups } = parseInput(lookupInput, input, 'lookup_agent input');
  const asked = messages.some((m) => m.role === 'assistant');
  if (!asked && lookups.length > 0)
    return {
      tool_calls: lookups.map((l, i) => ({
        id: `lookup_${i + 1}`,
        name: l.tool,
        arguments: l.params,
      })),
    };
  const results: LookupResult[] = [];
  for (const m of messages) {
    if (m.role !== 'tool') continue;
    const c = m.content;
    const body = typeof c === 'object' && c !== null && !Array.isArray(c) ? c : {};
    const ok = body.ok === true;
    results.push({
      tool: m.name,
      ok,
      output: ok ? (body.output ?? null) : null,
      code: ok ? null : typeof body.code === 'string' ? body.code : 'UNKNOWN',
    });
  }
  return { output: { results } };
}

// ---------------------------------------------------------------------------------------------
// The provider

/** Agents that work with tools: they see the turns so far and ask for calls or answer. */
const TOOL_AGENTS: Readonly<
  Record<string, (input: JsonObject, messages: readonly ModelMessage[]) => ToolTurn>
> = {
  lookup_agent: lookupAgent,
  schema_planner: schemaPlanner,
};

const AGENTS: Readonly<Record<string, (input: JsonObject) => unknown>> = {
  intake_agent: intakeAgent,
  risk_agent: riskAgent,
  change_planner: changePlanner,
  audit_agent: auditAgent,
  response_drafter: responseDrafter,
  schema_scope_agent: schemaScopeAgent,
  schema_reviewer: schemaReviewer,
  plan_writer: planWriter,
};

/** The model names this provider answers to (`v1`, also written `rules/v1`). */
const MODELS = new Set(['v1', 'rules/v1']);

/**
 * Deterministic agents for the seed workflows, chosen by `request.role`.
 *
 * @example
 * const out = await new RulesProvider().generate({ tenant_id: 'default', model: 'v1',
 *   role: 'risk_agent', instructions: '', input: { intake }, output_schema: {}, schema_name: 'risk' });
 */
export class RulesProvider implements ModelProvider {
  readonly name = 'rules';
  readonly models: readonly string[] = ['v1'];
  readonly roles: readonly string[] = [...Object.keys(AGENTS), ...Object.keys(TOOL_AGENTS)].sort(
    byText,
  );

  generate(request: ModelRequest): Promise<ModelResponse> {
    return new Promise((resolve) => {
      if (!MODELS.has(request.model))
        throw validationError(
          `the rules provider has no model "${request.model}"; its only model is v1`,
          { model: request.model },
        );
      const usage = { prompt_tokens: 0, completion_tokens: 0 };
      const toolAgent = Object.hasOwn(TOOL_AGENTS, request.role)
        ? TOOL_AGENTS[request.role]
        : undefined;
      if (toolAgent) {
        const turn = toolAgent(request.input, request.messages ?? []);
        resolve(
          'tool_calls' in turn
            ? { output: null, tool_calls: turn.tool_calls, usage, model: 'rules/v1' }
            : { output: turn.output as JsonValue, usage, model: 'rules/v1' },
        );
        return;
      }
      const agent = Object.hasOwn(AGENTS, request.role) ? AGENTS[request.role] : undefined;
      if (!agent)
        throw validationError(
          `the rules provider has no agent for role "${request.role}"; roles: ${this.roles.join(', ')}`,
          { role: request.role, roles: [...this.roles] },
        );
      resolve({
        output: agent(request.input) as JsonValue,
        usage: { prompt_tokens: 0, completion_tokens: 0 },
        model: 'rules/v1',
      });
    });
  }
}
