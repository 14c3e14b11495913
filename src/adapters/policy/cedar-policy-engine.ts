import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

// Node 20's V8 aborts the process ("unreachable code") when it deoptimizes a function that
// inlined a call into this WebAssembly module (seen in bench/workflow-bench.ts after ~1,000
// policy decisions and a GC, every time). Set before any call can be optimized.
v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls');
import { canonicalJson, sha256Hex } from '../../core/canonical.js';
import { CountersignError } from '../../core/errors.js';
import { type RoleQuorum, parseQuorum, quorumSize, withQuorum } from '../../core/quorum.js';
import {
  type ExplainedPolicy,
  POLICY_ACTIONS,
  type PolicyDecision,
  type PolicyFile,
  type PolicyRequest,
  type PolicyWorkbench,
} from '../../core/ports/policy.js';
import { DecisionCache } from './decision-cache.js';
import { type Observed, nothingObserved, observePolicy, observedKey } from './observed.js';

/** The package root: the nearest folder above this file holding package.json (src or dist). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the countersign package root');
    dir = up;
  }
  return dir;
}

/** How many candidate policy sets stay preparsed at once (CedarPolicyEngine.candidate). */
const CANDIDATE_SLOTS = 8;
const CANDIDATE_SCHEMA = 'countersign-candidate-schema';
const candidateSlotOwners: unknown[] = [];
let nextCandidateSlot = 0;
let candidateSchemaParsed = false;

/** The directory of policies shipped with Countersign. */
export const BUNDLED_POLICY_ROOT = path.join(packageRoot(), 'policies');
export const DEFAULT_POLICY_DIR = path.join(BUNDLED_POLICY_ROOT, 'default');
const SCHEMA_FILE = path.join(BUNDLED_POLICY_ROOT, 'countersign.cedarschema');

interface LoadedPolicy {
  readonly id: string;
  /** The file it came from. */
  readonly file: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly text: string;
  readonly approvals: number | null;
  readonly roles: readonly string[];
  /** `@quorum("change_manager, security:2")`: approvals per role; null without it. */
  readonly quorum: RoleQuorum | null;
  /** The actions its scope names; null when it names none (`action` alone: every action). */
  readonly actions: readonly string[] | null;
  /** Its JSON form (scope and conditions). */
  readonly json: unknown;
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new CountersignError('VALIDATION_FAILED', message, details);
}

function errorsText(errors: readonly { message: string }[]): string {
  return errors.map((e) => e.message).join('; ');
}

/** Splits policy files into single policies with stable IDs and reads their annotations. */
function loadPolicies(files: readonly { name: string; text: string }[]): LoadedPolicy[] {
  const out: LoadedPolicy[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const parts = cedar.policySetTextToParts(file.text);
    if (parts.type === 'failure')
      fail(`Cannot parse ${file.name}: ${errorsText(parts.errors)}`, { file: file.name });
    if (parts.policy_templates.length > 0)
      fail(`${file.name}: policy templates are not supported`, { file: file.name });
    parts.policies.forEach((text, index) => {
      const json = cedar.policyToJson(text);
      if (json.type === 'failure')
        fail(`Cannot read policy ${index + 1} of ${file.name}: ${errorsText(json.errors)}`, {
          file: file.name,
        });
      const annotations = json.json.annotations ?? {};
      const id = annotations.id ?? `${file.name}#${index + 1}`;
      if (seen.has(id))
        fail(`Two policies share the id "${id}" (${file.name})`, { file: file.name, policy: id });
      seen.add(id);
      let approvals: number | null = null;
      if (annotations.approvals !== undefined) {
        approvals = Number(annotations.approvals);
        if (!Number.isInteger(approvals) || approvals < 0 || approvals > 10)
          fail(
            `Policy "${id}" (${file.name}): @approvals must be a whole number from 0 to 10, got "${annotations.approvals}"`,
            { file: file.name, policy: id },
          );
      }
      const roles = (annotations.roles ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      let quorum: RoleQuorum | null = null;
      if (annotations.quorum !== undefined) {
        const q = parseQuorum(annotations.quorum);
        if (typeof q === 'string')
          fail(
            `Policy "${id}": @quorum must list roles as "role" or "role:N" separated by commas (${q})`,
          );
        if (approvals === 0 || roles.length > 0)
          fail(`Policy "${id}": @quorum names its roles; use it without @roles or @approvals("0")`);
        quorum = q;
      }
      out.push({
        id,
        file: file.name,
        annotations: { ...annotations },
        text,
        approvals: approvals ?? (quorum ? quorumSize(quorum) : null),
        roles: quorum ? Object.keys(quorum) : roles,
        quorum,
        actions: scopeActions(json.json.action),
        json: json.json,
      });
    });
  }
  return out;
}

/**
 * The actions a policy's scope can match, or null for all. The schema declares no action
 * groups, so `action in [A, B]` matches exactly A and B. Anything else counts as all actions.
 */
function scopeActions(scope: unknown): string[] | null {
  const s = scope as {
    op?: string;
    entity?: { type?: string; id?: string };
    entities?: { type?: string; id?: string }[];
  } | null;
  const uids =
    s?.op === '==' || s?.op === 'in' ? (s.entities ?? (s.entity ? [s.entity] : null)) : null;
  if (!uids || uids.some((u) => u.type !== 'Action' || typeof u.id !== 'string')) return null;
  return uids.map((u) => u.id!);
}

/**
 * Cedar policies through cedar-wasm. The policy set is parsed and validated against the
 * schema once, cached in the engine under its content hash, and evaluated per request.
 *
 * Three things keep a decision cheap (a call into cedar-wasm costs a tenth of a millisecond
 * before it evaluates anything):
 * - Each action is decided by the slice of the set whose scope can match it. A policy whose
 *   action scope does not match is never satisfied and never evaluated past its scope, so the
 *   outcome, its reasons and its errors are those of the whole set.
 * - A request is validated against the schema the first time its shape (action, entity types,
 *   the types of context and attribute values) is seen; validation depends on nothing else,
 *   so later requests of that shape skip it, and the schema-typed parsing it needs.
 * - Decisions are cached (a bounded LRU) under the exact request: the engine's policies never
 *   change (another policy set is another engine, with another version and an empty cache).
 */
export class CedarPolicyEngine implements ExplainedPolicy {
  readonly version: string;
  private readonly byId: ReadonlyMap<string, LoadedPolicy>;
  /** The slice deciding each action (preparsed on the action's first request). */
  private readonly sliceOf = new Map<string, Slice>();
  private readonly policies: readonly LoadedPolicy[];
  /** Request shapes the schema accepted. */
  private readonly validShapes = new Set<string>();
  private readonly cache = new DecisionCache(4096);
  /**
   * A candidate's (CedarPolicyEngine.candidate) preparsed slot and policies; null for an
   * active set. cedar-wasm keeps a preparsed set for the life of the process and cannot drop
   * one, and candidates come and go: they share a few slots, overwritten in turn (an
   * unpreparsed call would parse the policies and the schema again for every decision).
   */
  private readonly candidateOf: {
    readonly slot: number;
    readonly staticPolicies: Record<string, string>;
    /** What its policies look at: decisions are cached under it, as the active set's are. */
    readonly observed: Observed;
  } | null;

  private constructor(
    policies: readonly LoadedPolicy[],
    schema: string,
    opts: { readonly candidate?: boolean } = {},
  ) {
    const staticPolicies = Object.fromEntries(policies.map((p) => [p.id, p.text]));
    this.candidateOf = opts.candidate
      ? {
          slot: nextCandidateSlot++ % CANDIDATE_SLOTS,
          staticPolicies,
          observed: policies.reduce((o, p) => {
            observePolicy(p.json, o);
            return o;
          }, nothingObserved()),
        }
      : null;
    this.version = sha256Hex(
      canonicalJson({ schema, policies: policies.map((p) => [p.id, p.text]) }),
    ).slice(0, 16);
    this.byId = new Map(policies.map((p) => [p.id, p]));
    this.policies = policies;
    const validation = cedar.validate({ schema, policies: { staticPolicies } });
    if (validation.type === 'failure')
      fail(`Cannot validate policies: ${errorsText(validation.errors)}`);
    if (validation.validationErrors.length > 0) {
      const fileOf = (id: string) => this.byId.get(id)?.file ?? id;
      const first = validation.validationErrors[0]!;
      fail(
        'Policies do not match the Countersign schema: ' +
          validation.validationErrors
            .map((e) => `${fileOf(e.policyId)} (${e.policyId}): ${e.error.message}`)
            .join('; '),
        { file: fileOf(first.policyId), policy: first.policyId },
      );
    }
    if (this.candidateOf) {
      if (!candidateSchemaParsed) {
        const parsed = cedar.preparseSchema(CANDIDATE_SCHEMA, schema);
        if (parsed.type === 'failure') fail(`Cannot load the schema: ${errorsText(parsed.errors)}`);
        candidateSchemaParsed = true;
      }
      return;
    }
    const parsed = cedar.preparsePolicySet(this.version, { staticPolicies });
    if (parsed.type === 'failure') fail(`Cannot load policies: ${errorsText(parsed.errors)}`);
    const schemaParsed = cedar.preparseSchema(this.version, schema);
    if (schemaParsed.type === 'failure')
      fail(`Cannot load the schema: ${errorsText(schemaParsed.errors)}`);
  }

  /** Loads every `*.cedar` file of `dir` (sorted by name). */
  static fromDirectory(dir: string = DEFAULT_POLICY_DIR): CedarPolicyEngine {
    let names: string[];
    try {
      names = fs
        .readdirSync(dir)
        .filter((n) => n.endsWith('.cedar'))
        .sort();
    } catch {
      fail(`Policy directory ${dir} cannot be read.`);
    }
    if (names.length === 0) fail(`Policy directory ${dir} holds no .cedar files.`);
    return CedarPolicyEngine.fromText(
      names.map((name) => ({ name, text: fs.readFileSync(path.join(dir, name), 'utf8') })),
    );
  }

  static fromText(files: readonly { name: string; text: string }[]): CedarPolicyEngine {
    return new CedarPolicyEngine(loadPolicies(files), fs.readFileSync(SCHEMA_FILE, 'utf8'));
  }

  /**
   * A candidate policy set sent as text, to be asked and never installed: validated against
   * the schema like the active set; any fault is POLICY_INVALID naming the file.
   */
  static candidate(files: readonly PolicyFile[]): CedarPolicyEngine {
    try {
      return new CedarPolicyEngine(loadPolicies(files), fs.readFileSync(SCHEMA_FILE, 'utf8'), {
        candidate: true,
      });
    } catch (e) {
      if (e instanceof CountersignError && e.code === 'VALIDATION_FAILED')
        throw new CountersignError('POLICY_INVALID', e.message, e.details);
      throw e;
    }
  }

  annotations(policyId: string): Readonly<Record<string, string>> | undefined {
    return this.byId.get(policyId)?.annotations;
  }

  decide(request: PolicyRequest): PolicyDecision {
    if (this.candidateOf) {
      const built = buildRequest(request);
      const shape = shapeOf(request, built.entities, built.context);
      const key = `${shape}\n${observedKey(request, built.context, this.candidateOf.observed)}`;
      return this.cache.get(this.version, key, () =>
        this.evaluate(
          request,
          built,
          this.candidateSet(),
          this.validShapes.has(shape) ? null : shape,
        ),
      );
    }
    const built = buildRequest(request);
    const slice = this.slice(request.action);
    const shape = shapeOf(request, built.entities, built.context);
    const key = `${shape}\n${observedKey(request, built.context, slice.observed)}`;
    return this.cache.get(this.version, key, () =>
      this.evaluate(request, built, slice.id, this.validShapes.has(shape) ? null : shape),
    );
  }

  /**
   * The reference the fast path is held to in tests: the whole policy set, every request
   * validated against the schema, nothing cached.
   */
  decideWholeSet(request: PolicyRequest): PolicyDecision {
    return this.evaluate(
      request,
      buildRequest(request),
      this.candidateOf ? this.candidateSet() : this.version,
      '',
    );
  }

  /** The policies that decide `action`; the whole set for an action outside the schema. */
  private slice(action: string): Slice {
    const known = this.sliceOf.get(action);
    if (known) return known;
    const whole = !(POLICY_ACTIONS as readonly string[]).includes(action);
    const policies = whole
      ? this.policies
      : this.policies.filter((p) => p.actions === null || p.actions.includes(action));
    const observed = nothingObserved();
    for (const p of policies) observePolicy(p.json, observed);
    let id = this.version;
    if (!whole) {
      const parsed = cedar.preparsePolicySet(`${this.version}:${action}`, {
        staticPolicies: Object.fromEntries(policies.map((p) => [p.id, p.text])),
      });
      if (parsed.type === 'success') id = `${this.version}:${action}`;
    }
    const slice = { id, observed };
    this.sliceOf.set(action, slice);
    return slice;
  }

  /**
   * `policySet`: the preparsed set's id, null to send the policies and schema with the call (a
   * candidate). `validate`: the shape to validate and remember, '' to validate only, null not to.
   */
  private evaluate(
    request: PolicyRequest,
    built: BuiltRequest,
    policySet: string,
    validate: string | null,
  ): PolicyDecision {
    const deny = (errors: string[], reasons: string[] = []): PolicyDecision => ({
      effect: 'deny',
      approvals: 0,
      roles: [],
      policy_version: this.version,
      reasons,
      errors,
    });
    const answer = this.statefulAnswer(request, built, policySet, validate);
    if (validate && answer.type === 'success') this.validShapes.add(validate);
    if (answer.type === 'failure') return deny(answer.errors.map((e) => e.message));
    const { decision, diagnostics } = answer.response;
    const reasons = [...diagnostics.reason].sort();
    // Fail closed: a policy that could not be evaluated makes the whole decision a deny.
    if (diagnostics.errors.length > 0)
      return deny(
        diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`),
        reasons,
      );
    if (decision === 'deny') return deny([], reasons);
    if (request.action !== 'proposal.create')
      return {
        effect: 'allow',
        approvals: 0,
        roles: [],
        policy_version: this.version,
        reasons,
        errors: [],
      };

    let approvals = 0;
    let roles = new Set<string>();
    // Every permitting @quorum applies: each role needs the most any of them asks of it.
    const quorum: Record<string, number> = {};
    for (const id of reasons) {
      const p = this.byId.get(id);
      for (const [role, n] of Object.entries(p?.quorum ?? {}))
        quorum[role] = Math.max(quorum[role] ?? 0, n);
      const n = p?.approvals ?? 1;
      if (n > approvals) {
        approvals = n;
        roles = new Set(p?.roles ?? []);
      } else if (n === approvals) {
        for (const r of p?.roles ?? []) roles.add(r);
      }
    }
    const rule = withQuorum({
      required_approvals: approvals,
      required_roles: [...roles],
      role_quorum: quorum,
    });
    return {
      effect: rule.required_approvals === 0 ? 'allow' : 'review',
      approvals: rule.required_approvals,
      roles: [...rule.required_roles].sort(),
      ...(rule.role_quorum ? { quorum: rule.role_quorum } : {}),
      policy_version: this.version,
      reasons,
      errors: [],
    };
  }

  /**
   * The preparsed id of this candidate's set: its slot, preparsed again when a later candidate
   * took the slot. A trial compiles and asks its candidate without awaiting anything between,
   * so the check is for candidates kept across trials.
   */
  private candidateSet(): string {
    const { slot, staticPolicies } = this.candidateOf!;
    const id = `countersign-candidate:${slot}`;
    if (candidateSlotOwners[slot] !== this) {
      const parsed = cedar.preparsePolicySet(id, { staticPolicies });
      if (parsed.type === 'failure') fail(`Cannot load policies: ${errorsText(parsed.errors)}`);
      candidateSlotOwners[slot] = this;
    }
    return id;
  }

  private statefulAnswer(
    request: PolicyRequest,
    built: BuiltRequest,
    policySet: string,
    validate: string | null,
  ): cedar.AuthorizationAnswer {
    const call: cedar.StatefulAuthorizationCall = {
      principal: built.principal,
      action: { type: 'Action', id: request.action },
      resource: built.resource,
      context: built.context,
      entities: built.entities,
      preparsedPolicySetId: policySet,
      validateRequest: false,
    };
    if (validate !== null) {
      call.preparsedSchemaName = this.candidateOf ? CANDIDATE_SCHEMA : this.version;
      call.validateRequest = true;
    }
    return cedar.statefulIsAuthorized(call);
  }
}

/** The active set's policies and a compiler of candidates: what test_policy and replay_policy ask. */
export function cedarWorkbench(active: CedarPolicyEngine): PolicyWorkbench {
  return { active, compile: (files) => CedarPolicyEngine.candidate(files) };
}

interface Slice {
  /** The preparsed policy set's id. */
  readonly id: string;
  readonly observed: Observed;
}

interface BuiltRequest {
  readonly principal: cedar.EntityUidJson;
  readonly resource: cedar.EntityUidJson;
  readonly entities: cedar.EntityJson[];
  readonly context: cedar.Context;
}

/** The request as Cedar gets it: the principal, the resource and the entities they stand for. */
function buildRequest(request: PolicyRequest): BuiltRequest {
  const { principal, resource } = request;
  const principalUid = { type: 'Actor', id: principal.id };
  const resourceUid = { type: resource.type, id: resource.id };
  const entities: cedar.EntityJson[] = [
    {
      uid: principalUid,
      attrs: { kind: principal.kind, roles: [...principal.roles] },
      parents: [],
    },
  ];
  if (resource.type === 'Tool') {
    entities.push({ uid: resourceUid, attrs: { risk: resource.risk }, parents: [] });
  } else if (resource.type === 'Proposal') {
    entities.push(
      {
        uid: resourceUid,
        attrs: {
          tool: { __entity: { type: 'Tool', id: resource.tool } },
          risk: resource.risk,
          proposer: { __entity: { type: 'Actor', id: resource.proposer } },
          workflow: { __entity: { type: 'Workflow', id: resource.workflow } },
        },
        parents: [],
      },
      { uid: { type: 'Tool', id: resource.tool }, attrs: { risk: resource.risk }, parents: [] },
    );
  } else if (resource.type === 'Approval') {
    entities.push({
      uid: resourceUid,
      attrs: {
        requested_by: { __entity: { type: 'Actor', id: resource.requested_by } },
        workflow: { __entity: { type: 'Workflow', id: resource.workflow } },
      },
      parents: [],
    });
  } else if (resource.type === 'WorkPackage') {
    entities.push({
      uid: resourceUid,
      attrs: { role: resource.role, state: resource.state },
      parents: [],
    });
  } else {
    entities.push({ uid: resourceUid, attrs: {}, parents: [] });
  }
  const context: cedar.Context = { tenant_id: request.tenant_id, purpose: request.purpose };
  if (request.workflow_id) context.workflow_id = request.workflow_id;
  if (request.workflow_archetype) context.workflow_archetype = request.workflow_archetype;
  if (request.agent_invocation_id) context.agent_invocation_id = request.agent_invocation_id;
  if (request.local_operator) context.local_operator = true;
  return { principal: principalUid, resource: resourceUid, entities, context };
}

/**
 * What request validation looks at: the action, the entity types, and the type of every value
 * (strings, numbers and booleans by kind; entity references by their entity type), never the
 * values themselves. Two requests of one shape validate alike.
 */
function shapeOf(
  request: PolicyRequest,
  entities: readonly cedar.EntityJson[],
  context: cedar.Context,
): string {
  return JSON.stringify([
    request.action,
    request.resource.type,
    skeleton(entities),
    skeleton(context),
  ]);
}

function skeleton(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(skeleton);
  if (v === null || typeof v !== 'object') return typeof v;
  const o = v as Record<string, unknown>;
  if ('__entity' in o) return { __entity: (o.__entity as { type: string }).type };
  if ('uid' in o && 'attrs' in o)
    return {
      type: (o.uid as { type: string }).type,
      attrs: skeleton(o.attrs),
      parents: skeleton(o.parents),
    };
  return Object.keys(o)
    .sort()
    .map((k) => [k, skeleton(o[k])]);
}
