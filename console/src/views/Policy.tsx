import { useState } from 'react';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { useSession } from '../session.js';

/** One policy's answer (test_policy, replay_policy). */
interface Verdict {
  effect: 'allow' | 'review' | 'deny';
  approvals: number;
  roles: string[];
  policy_version?: string;
  matched: { id: string; annotations: Record<string, string> }[];
  why: string;
}

interface Tested {
  current: Verdict;
  candidate: Verdict | null;
  changed: boolean | null;
  notes: string[];
}

interface Replayed {
  replayed: number;
  changed: number;
  unchanged: number;
  changes: {
    proposal_id: string;
    tool: string;
    proposer_id: string;
    before: Verdict;
    after: Verdict;
  }[];
}

function decision(v: Verdict): string {
  if (v.effect !== 'review') return v.effect;
  const roles = v.roles.length ? ` from ${v.roles.join(' or ')}` : '';
  return `review: ${v.approvals} approval${v.approvals === 1 ? '' : 's'}${roles}`;
}

function VerdictView({ label, v }: { label: string; v: Verdict }) {
  return (
    <div className="card" data-testid={`verdict-${label}`}>
      <h2>
        {label}: <span className={`effect effect-${v.effect}`}>{decision(v)}</span>
      </h2>
      <p>{v.why}</p>
      {v.matched.length > 0 ? (
        <ul aria-label={`Policies that matched (${label})`}>
          {v.matched.map((m) => (
            <li key={m.id}>
              <code>{m.id}</code>{' '}
              {Object.entries(m.annotations)
                .filter(([k]) => k !== 'id')
                .map(([k, val]) => `@${k}("${val}")`)
                .join(' ')}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/**
 * Try a policy before trusting it: what the active policy (and a candidate pasted below)
 * decides for a call, and which recent proposals the candidate would decide differently.
 * Nothing here proposes, records or changes the active policy. Operators and admins only.
 */
export function Policy() {
  const { api } = useSession();
  const [tool, setTool] = useState('');
  const [params, setParams] = useState('{}');
  const [proposer, setProposer] = useState('');
  const [workflow, setWorkflow] = useState('');
  const [candidateText, setCandidateText] = useState('');
  const [last, setLast] = useState(100);
  const [tested, setTested] = useState<Tested>();
  const [replayed, setReplayed] = useState<Replayed>();
  const [error, setError] = useState<unknown>();

  const candidate = () =>
    candidateText.trim() ? [{ name: 'candidate.cedar', text: candidateText }] : undefined;

  const test = async () => {
    setError(undefined);
    setTested(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(params);
    } catch {
      setError('The parameters are not valid JSON.');
      return;
    }
    try {
      setTested(
        await api.post<Tested>('/policy/test', {
          tool,
          params: parsed,
          proposer_id: proposer,
          ...(workflow ? { workflow_id: workflow } : {}),
          ...(candidate() ? { candidate: candidate() } : {}),
        }),
      );
    } catch (e) {
      setError(e);
    }
  };

  const replay = async () => {
    setError(undefined);
    setReplayed(undefined);
    const files = candidate();
    if (!files) {
      setError('Paste a candidate policy to replay.');
      return;
    }
    try {
      setReplayed(await api.post<Replayed>('/policy/replay', { candidate: files, last }));
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section aria-labelledby="policy-title">
      <h1 id="policy-title">Policy</h1>
      <p>
        Ask what policy decides for a call without proposing it. Paste a candidate policy to see
        what it would decide instead. Nothing is recorded and the active policy stays as it is.
      </p>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void test();
        }}
      >
        <label>
          Tool <input value={tool} onChange={(e) => setTool(e.target.value)} required />
        </label>
        <label>
          Proposer <input value={proposer} onChange={(e) => setProposer(e.target.value)} required />
        </label>
        <label>
          Workflow <input value={workflow} onChange={(e) => setWorkflow(e.target.value)} />
        </label>
        <label>
          Parameters (JSON)
          <textarea value={params} onChange={(e) => setParams(e.target.value)} rows={3} />
        </label>
        <label>
          Candidate policy (Cedar, optional)
          <textarea
            value={candidateText}
            onChange={(e) => setCandidateText(e.target.value)}
            rows={8}
          />
        </label>
        <button type="submit">Test the call</button>
        <label>
          Last
          <input
            type="number"
            min={1}
            max={1000}
            value={last}
            onChange={(e) => setLast(Number(e.target.value))}
          />
        </label>
        <button type="button" onClick={() => void replay()}>
          Replay last {last}
        </button>
      </form>
      <ErrorNotice error={error} title="Could not try the policy" />
      {tested ? (
        <div>
          <VerdictView label="Current" v={tested.current} />
          {tested.candidate ? <VerdictView label="Candidate" v={tested.candidate} /> : null}
          {tested.changed !== null ? (
            <p data-testid="changed">
              {tested.changed
                ? 'The candidate decides differently.'
                : 'The candidate decides the same.'}
            </p>
          ) : null}
          {tested.notes.map((n) => (
            <p key={n} className="notice">
              {n}
            </p>
          ))}
        </div>
      ) : null}
      {replayed ? (
        <div>
          <p data-testid="replay-summary">
            Replayed {replayed.replayed} proposals: {replayed.changed} would change,{' '}
            {replayed.unchanged} unchanged.
          </p>
          {replayed.changes.length > 0 ? (
            <table>
              <thead>
                <tr>
                  <th>Proposal</th>
                  <th>Tool</th>
                  <th>Proposer</th>
                  <th>Now</th>
                  <th>Candidate</th>
                  <th>Why</th>
                </tr>
              </thead>
              <tbody>
                {replayed.changes.map((c) => (
                  <tr key={c.proposal_id}>
                    <td>
                      <a href={`#/proposals/${encodeURIComponent(c.proposal_id)}`}>
                        {c.proposal_id}
                      </a>
                    </td>
                    <td>{c.tool}</td>
                    <td>{c.proposer_id}</td>
                    <td>{decision(c.before)}</td>
                    <td>{decision(c.after)}</td>
                    <td>{c.after.why}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
