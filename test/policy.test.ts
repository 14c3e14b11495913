import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import type { PolicyRequest } from '../src/core/ports/policy.js';

const engine = CedarPolicyEngine.fromDirectory();
const alice = { id: 'actor_1', kind: 'human' as const, roles: ['Developer'] };
const create = (risk: 'read' | 'write' | 'irreversible', workflow_id?: string): PolicyRequest => ({
  tenant_id: 'default',
  principal: alice,
  action: 'proposal.create',
  resource: { type: 'Tool', id: 't', risk },
  purpose: 'test',
  workflow_id,
});

describe('the default Cedar policies', () => {
  it('require one review for a write and two for an irreversible call', () => {
    expect(engine.decide(create('write', 'workflow_1'))).toMatchObject({
      effect: 'review',
      approvals: 1,
      roles: [],
    });
    expect(engine.decide(create('irreversible', 'workflow_1'))).toMatchObject({
      effect: 'review',
      approvals: 2,
      reasons: ['calls-need-review', 'irreversible-needs-two'],
    });
  });

  it('deny a tool call without a workflow context', () => {
    expect(engine.decide(create('read'))).toMatchObject({
      effect: 'deny',
      reasons: ['tools-need-a-workflow'],
    });
  });

  it('deny agent and tool invocations outside a workflow context (seed 001, 11.4)', () => {
    const ask = (
      action: 'agent.invoke' | 'tool.invoke',
      context: { workflow_id?: string; agent_invocation_id?: string },
    ) =>
      engine.decide({
        tenant_id: 'default',
        principal: { id: 'operator', kind: 'operator', roles: ['operator'] },
        action,
        resource:
          action === 'tool.invoke'
            ? { type: 'Tool', id: 'config_set', risk: 'write' }
            : { type: 'Agent', id: 'risk_agent' },
        purpose: 'test',
        ...context,
      }).effect;
    expect(ask('tool.invoke', {})).toBe('deny');
    expect(ask('tool.invoke', { workflow_id: 'run_0123456789abcdef0123' })).toBe('allow');
    expect(ask('agent.invoke', {})).toBe('deny');
    expect(ask('agent.invoke', { workflow_id: 'run_0123456789abcdef0123' })).toBe('deny');
    expect(ask('agent.invoke', { agent_invocation_id: 'x' })).toBe('deny');
    expect(
      ask('agent.invoke', {
        workflow_id: 'run_0123456789abcdef0123',
        agent_invocation_id: 'run_0123456789abcdef0123.risk.3',
      }),
    ).toBe('allow');
  });

  it('deny reviewing your own proposal, whatever else permits it', () => {
    const d = engine.decide({
      tenant_id: 'default',
      principal: alice,
      action: 'proposal.review',
      resource: {
        type: 'Proposal',
        id: 'proposal_1',
        tool: 't',
        risk: 'write',
        proposer: 'actor_1',
        workflow: 'workflow_1',
      },
      purpose: 'test',
      workflow_id: 'workflow_1',
    });
    expect(d).toMatchObject({ effect: 'deny', reasons: ['no-self-review'] });
  });

  it('deny actions no policy permits (actors cannot change policy)', () => {
    const d = engine.decide({
      tenant_id: 'default',
      principal: alice,
      action: 'policy.set',
      resource: { type: 'Tenant', id: 'default' },
      purpose: 'x',
    });
    expect(d).toMatchObject({ effect: 'deny', reasons: [] });
  });

  it('record the policy version, a content hash that changes with the policies', () => {
    const other = CedarPolicyEngine.fromText([
      { name: 'a.cedar', text: 'permit(principal, action, resource);' },
    ]);
    expect(engine.version).toMatch(/^[0-9a-f]{16}$/);
    expect(engine.decide(create('write', 'w')).policy_version).toBe(engine.version);
    expect(other.version).not.toBe(engine.version);
  });

  it('read @approvals and @roles annotations; 0 approvals means allowed without review', () => {
    const p = CedarPolicyEngine.fromText([
      {
        name: 'a.cedar',
        text: `@id("read-free") @approvals("0") permit(principal, action == Action::"proposal.create", resource) when { resource.risk == "read" };
               @id("dba") @approvals("1") @roles("DBA, Senior Developer") permit(principal, action == Action::"proposal.create", resource) when { resource.risk == "write" };`,
      },
    ]);
    expect(p.decide(create('read', 'w'))).toMatchObject({ effect: 'allow', approvals: 0 });
    expect(p.decide(create('write', 'w'))).toMatchObject({
      effect: 'review',
      approvals: 1,
      roles: ['DBA', 'Senior Developer'],
    });
    expect(p.decide(create('irreversible', 'w'))).toMatchObject({ effect: 'deny' });
  });

  it('fail closed: a policy that errors during evaluation makes the decision a deny', () => {
    const p = CedarPolicyEngine.fromText([
      {
        name: 'a.cedar',
        text: `@id("ok") permit(principal, action, resource);
               @id("overflow") forbid(principal, action, resource) when { 9223372036854775807 + 1 > 0 };`,
      },
    ]);
    const d = p.decide(create('write', 'w'));
    expect(d.effect).toBe('deny');
    expect(d.errors.join(' ')).toContain('overflow');
  });

  it('refuse policies that do not parse, break the schema or misuse annotations, with a clear message', () => {
    expect(() =>
      CedarPolicyEngine.fromText([{ name: 'bad.cedar', text: 'permit(principal, action' }]),
    ).toThrow(/Cannot parse bad.cedar/);
    expect(() =>
      CedarPolicyEngine.fromText([
        {
          name: 's.cedar',
          text: 'permit(principal, action, resource) when { principal.salary > 3 };',
        },
      ]),
    ).toThrow(/do not match the Countersign schema/);
    expect(() =>
      CedarPolicyEngine.fromText([
        { name: 'n.cedar', text: '@approvals("many") permit(principal, action, resource);' },
      ]),
    ).toThrow(/@approvals must be a whole number/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-pol-'));
    expect(() => CedarPolicyEngine.fromDirectory(empty)).toThrow(/holds no .cedar files/);
    expect(() => CedarPolicyEngine.fromDirectory(path.join(empty, 'missing'))).toThrow(
      /cannot be read/,
    );
  });
});
