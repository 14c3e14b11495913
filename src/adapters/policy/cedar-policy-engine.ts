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
import type { PolicyDecision, PolicyEngine, PolicyRequest } from '../../core/ports/policy.js';

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

/** The directory of policies shipped with Countersign. */
export const BUNDLED_POLICY_ROOT = path.join(packageRoot(), 'policies');
export const DEFAULT_POLICY_DIR = path.join(BUNDLED_POLICY_ROOT, 'default');
const SCHEMA_FILE = path.join(BUNDLED_POLICY_ROOT, 'countersign.cedarschema');

interface LoadedPolicy {
  readonly id: string;
  readonly text: string;
  readonly approvals: number | null;
  readonly roles: readonly string[];
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
    if (parts.type === 'failure') fail(`Cannot parse ${file.name}: ${errorsText(parts.errors)}`);
    if (parts.policy_templates.length > 0) fail(`${file.name}: policy templates are not supported`);
    parts.policies.forEach((text, index) => {
      const json = cedar.policyToJson(text);
      if (json.type === 'failure')
        fail(`Cannot read policy ${index + 1} of ${file.name}: ${errorsText(json.errors)}`);
      const annotations = json.json.annotations ?? {};
      const id = annotations.id ?? `${file.name}#${index + 1}`;
      if (seen.has(id)) fail(`Two policies share the id "${id}" (${file.name})`);
      seen.add(id);
      let approvals: number | null = null;
      if (annotations.approvals !== undefined) {
        approvals = Number(annotations.approvals);
        if (!Number.isInteger(approvals) || approvals < 0 || approvals > 10)
          fail(
            `Policy "${id}": @approvals must be a whole number from 0 to 10, got "${annotations.approvals}"`,
          );
      }
      const roles = (annotations.roles ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      out.push({ id, text, approvals, roles });
    });
  }
  return out;
}

/**
 * Cedar policies through cedar-wasm. The policy set is parsed and validated against the
 * schema once, cached in the engine under its content hash, and evaluated per request.
 */
export class CedarPolicyEngine implements PolicyEngine {
  readonly version: string;
  private readonly byId: ReadonlyMap<string, LoadedPolicy>;

  private constructor(policies: readonly LoadedPolicy[], schema: string) {
    this.version = sha256Hex(
      canonicalJson({ schema, policies: policies.map((p) => [p.id, p.text]) }),
    ).slice(0, 16);
    this.byId = new Map(policies.map((p) => [p.id, p]));
    const staticPolicies = Object.fromEntries(policies.map((p) => [p.id, p.text]));
    const validation = cedar.validate({ schema, policies: { staticPolicies } });
    if (validation.type === 'failure')
      fail(`Cannot validate policies: ${errorsText(validation.errors)}`);
    if (validation.validationErrors.length > 0)
      fail(
        'Policies do not match the Countersign schema: ' +
          validation.validationErrors.map((e) => `${e.policyId}: ${e.error.message}`).join('; '),
      );
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

  decide(request: PolicyRequest): PolicyDecision {
    const deny = (errors: string[], reasons: string[] = []): PolicyDecision => ({
      effect: 'deny',
      approvals: 0,
      roles: [],
      policy_version: this.version,
      reasons,
      errors,
    });
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
    } else {
      entities.push({ uid: resourceUid, attrs: {}, parents: [] });
    }
    const context: cedar.Context = { tenant_id: request.tenant_id, purpose: request.purpose };
    if (request.workflow_id) context.workflow_id = request.workflow_id;
    if (request.agent_invocation_id) context.agent_invocation_id = request.agent_invocation_id;
    if (request.local_operator) context.local_operator = true;

    const answer = cedar.statefulIsAuthorized({
      principal: principalUid,
      action: { type: 'Action', id: request.action },
      resource: resourceUid,
      context,
      entities,
      preparsedPolicySetId: this.version,
      preparsedSchemaName: this.version,
      validateRequest: true,
    });
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
    for (const id of reasons) {
      const p = this.byId.get(id);
      const n = p?.approvals ?? 1;
      if (n > approvals) {
        approvals = n;
        roles = new Set(p?.roles ?? []);
      } else if (n === approvals) {
        for (const r of p?.roles ?? []) roles.add(r);
      }
    }
    return {
      effect: approvals === 0 ? 'allow' : 'review',
      approvals,
      roles: [...roles].sort(),
      policy_version: this.version,
      reasons,
      errors: [],
    };
  }
}
