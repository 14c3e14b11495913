/** How long ago `iso` was, e.g. "3 min", relative to `now` (ms). */
export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

export function ageSeconds(iso: string, now = Date.now()): number {
  return Math.max(0, (now - Date.parse(iso)) / 1000);
}

export function shortHash(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 12)}…${hash.slice(-4)}` : hash;
}

export const DECISION_LABEL: Record<string, string> = {
  approve: 'approved',
  reject: 'rejected',
  edit: 'edited (a new version for others to approve)',
  request_more_info: 'asked for more information',
  policy_allow: 'allowed by policy',
};
