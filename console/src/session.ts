import { createContext, useContext } from 'react';
import type { Api, Credentials } from './api.js';
import type { Me, TenantOperation } from './types.js';

export interface Session {
  readonly creds: Credentials;
  readonly me: Me;
  readonly api: Api;
  /** Changes the purpose sent with every later request. */
  setPurpose(purpose: string): void;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in console');
  return s;
}

/**
 * Whether the server said the caller may call `operation` (who_am_i's `may`): the console offers
 * a form or a button on it, and keeps no rules of its own. The server still decides each call.
 */
export function mayCall(me: Me, operation: TenantOperation): boolean {
  return Array.isArray(me.may) && me.may.includes(operation);
}

const KEY = 'countersign.console.session';

/** Kept for the tab only (sessionStorage): closing the tab signs out. */
export function loadCredentials(): Credentials | null {
  try {
    const raw = window.sessionStorage.getItem(KEY);
    if (!raw) return null;
    const v = JSON.parse(raw) as Partial<Credentials>;
    return typeof v.token === 'string' && typeof v.purpose === 'string'
      ? { token: v.token, purpose: v.purpose }
      : null;
  } catch {
    return null;
  }
}

export function saveCredentials(c: Credentials | null): void {
  if (c) window.sessionStorage.setItem(KEY, JSON.stringify(c));
  else window.sessionStorage.removeItem(KEY);
}
