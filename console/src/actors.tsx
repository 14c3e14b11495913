import { type ReactNode, createContext, useContext, useMemo } from 'react';
import { useLoad } from './hooks.js';
import { useSession } from './session.js';

export interface ActorInfo {
  readonly actor_id: string;
  readonly name: string;
  readonly role: string;
  readonly kind: string;
}

const ActorsContext = createContext<ReadonlyMap<string, ActorInfo>>(new Map());

/**
 * The tenant's actors (GET /actors), loaded once per session and again every minute, so that
 * views show people by name and role rather than by ID. A caller who may not list them sees
 * IDs, as before.
 */
export function ActorsProvider({ children }: { children: ReactNode }) {
  const { api } = useSession();
  const list = useLoad(() => api.get<{ actors: ActorInfo[] }>('/actors'), [api], 60_000);
  const byId = useMemo(
    () => new Map((list.data?.actors ?? []).map((a) => [a.actor_id, a] as const)),
    [list.data],
  );
  return <ActorsContext.Provider value={byId}>{children}</ActorsContext.Provider>;
}

/** An actor by name and role, its ID on hover; an ID the console does not know, as it is. */
export function ActorName({ id }: { id: string }) {
  const actors = useContext(ActorsContext);
  if (id === 'operator') return <span title="operator">the operator</span>;
  const a = actors.get(id);
  if (!a) return <span>{id}</span>;
  return (
    <span className="actor" title={`${id} (${a.kind})`} data-actor={id}>
      {a.name} <span className="muted">({a.role})</span>
    </span>
  );
}
