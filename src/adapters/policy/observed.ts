import type { PolicyRequest } from '../../core/ports/policy.js';

/**
 * What a set of Cedar policies can observe of a request, read from their JSON form: whether
 * they name the principal or the resource as such (compare it, constrain it in the scope),
 * whether they read the resource's attributes, and which context attributes they read (their
 * values) or only test for (`has`). The principal's attributes and the action always count.
 *
 * Two requests that agree on all of it are decided alike by those policies, so a decision can
 * be cached under that part of the request: a new workflow or a new proposal id does not make a
 * new decision when no policy looks at it. The walk is conservative: a variable anywhere else
 * than on the left of `.` or `has` (or any shape it does not know) counts as naming it whole,
 * and an entity literal in a condition makes the principal and the resource count whole.
 */
export interface Observed {
  principalId: boolean;
  resourceId: boolean;
  /** Every attribute of the resource counts. */
  resourceAttrs: boolean;
  /** The attributes of the resource read by name. */
  readonly resourceRead: Set<string>;
  contextWhole: boolean;
  readonly contextValues: Set<string>;
  readonly contextHas: Set<string>;
}

export function nothingObserved(): Observed {
  return {
    principalId: false,
    resourceId: false,
    resourceAttrs: false,
    resourceRead: new Set(),
    contextWhole: false,
    contextValues: new Set(),
    contextHas: new Set(),
  };
}

/** Adds what one policy (its JSON form, as `policyToJson` gives it) observes. */
export function observePolicy(policy: unknown, o: Observed): void {
  const p = policy as { principal?: { op?: string }; resource?: { op?: string } } | null;
  if (p?.principal?.op !== 'All') o.principalId = true;
  if (p?.resource?.op !== 'All') whole('resource', o);
  walk((policy as { conditions?: unknown } | null)?.conditions ?? null, o);
  // Anything unexpected at the top makes every part count.
  if (!p || typeof p !== 'object') whole(undefined, o);
}

function whole(v: unknown, o: Observed): void {
  if (v === 'principal') o.principalId = true;
  else if (v === 'resource') {
    o.resourceId = true;
    o.resourceAttrs = true;
    o.principalId = true;
  } else if (v === 'context') o.contextWhole = true;
  else if (v !== 'action') {
    o.principalId = true;
    o.resourceId = true;
    o.resourceAttrs = true;
    o.contextWhole = true;
  }
}

function walk(node: unknown, o: Observed): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, o);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && (keys[0] === '.' || keys[0] === 'has')) {
    const op = keys[0];
    const inner = obj[op] as { left?: unknown; attr?: unknown } | null;
    const left = inner?.left as { Var?: unknown } | undefined;
    if (left && typeof left === 'object' && Object.keys(left).length === 1 && 'Var' in left) {
      const attr = inner!.attr;
      const first = Array.isArray(attr) ? (attr[0] as unknown) : attr;
      if (typeof first !== 'string') return whole(left.Var, o);
      if (left.Var === 'context') {
        // `context has a.b` reads the value of a.
        if (op === '.' || Array.isArray(attr)) o.contextValues.add(first);
        else o.contextHas.add(first);
      } else if (left.Var === 'resource') {
        o.resourceRead.add(first);
        // An attribute that names an entity (a proposal's proposer) can be followed to it, and
        // whether it is there depends on who asks: the principal is the only actor passed.
        o.principalId = true;
      } else if (left.Var !== 'principal' && left.Var !== 'action') whole(left.Var, o);
      return;
    }
  }
  if (keys.length === 1 && keys[0] === 'Var') return whole(obj.Var, o);
  // An entity named in a condition (`Actor::"a".kind`, `resource.tool == Tool::"t"`) may be the
  // principal, the resource or one they refer to: their identities and attributes count.
  // Actions are neither principals nor resources, nor referred to by them.
  if (keys.includes('__entity') && (obj.__entity as { type?: unknown } | null)?.type !== 'Action') {
    o.principalId = true;
    o.resourceId = true;
    o.resourceAttrs = true;
    return;
  }
  if (keys.length === 1 && keys[0] === 'Slot') return whole(undefined, o);
  for (const k of keys) walk(obj[k], o);
}

/**
 * The part of a request that `o` says can matter, as a string: the cache key of its decision
 * (with the request's shape, which validation depends on, added by the caller). `context` is
 * the context as Cedar gets it (an attribute absent there is absent here).
 */
export function observedKey(
  request: PolicyRequest,
  context: Readonly<Record<string, unknown>>,
  o: Observed,
): string {
  const { principal, resource } = request;
  const seen: [string, unknown][] = [];
  for (const name of Object.keys(context).sort()) {
    if (o.contextWhole || o.contextValues.has(name)) seen.push([name, context[name]]);
    else if (o.contextHas.has(name)) seen.push([name, true]);
  }
  // Read attributes absent from this context are absent from the key, as they are from Cedar's.
  const { type, id, ...all } = resource;
  const attrs = o.resourceAttrs ? all : readAttributes(all, o.resourceRead);
  return JSON.stringify([
    request.action,
    principal.kind,
    principal.roles,
    o.principalId ? principal.id : null,
    type,
    o.resourceId ? id : null,
    attrs,
    seen,
  ]);
}

/** The attributes read, and `risk` with `tool`: the tool entity passed carries the risk. */
function readAttributes(all: Readonly<Record<string, unknown>>, read: ReadonlySet<string>) {
  const out: [string, unknown][] = [];
  for (const name of Object.keys(all).sort())
    if (read.has(name) || (name === 'risk' && read.has('tool'))) out.push([name, all[name]]);
  return out;
}
