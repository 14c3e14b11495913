import { useCallback, useEffect, useRef, useState } from 'react';
import type { Api } from './api.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  readonly reload: () => void;
}

/**
 * Loads with `load` and, with `everyMs`, again on that interval and when the window regains
 * focus, so lists update without a page reload. A failed refresh keeps the last data; new
 * `deps` start from nothing.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  everyMs = 0,
): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(() => setTick((t) => t + 1), []);

  // Other inputs are another thing to load: what the previous ones gave is not shown under
  // them (a failed lookup must not show the last scope's rows under the new name).
  useEffect(() => {
    setData(undefined);
    setError(undefined);
  }, deps);

  useEffect(() => {
    let live = true;
    setLoading(true);
    loadRef.current().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);

  useEffect(() => {
    if (!everyMs) return;
    const timer = window.setInterval(reload, everyMs);
    window.addEventListener('focus', reload);
    return () => {
      window.clearInterval(timer);
      window.removeEventListener('focus', reload);
    };
  }, [everyMs, reload]);

  return { data, error, loading, reload };
}

/** How often a view reloads while its event stream is down (it reloads on every event otherwise). */
export const FALLBACK_POLL_MS = 30_000;

/**
 * Keeps a view current from the server's event stream (`GET /events` with `filter`): every
 * event, and every reconnection, calls `reload` (at most once per `settleMs`, so a burst of
 * events is one reload). While the stream is down, `reload` runs every `fallbackMs` instead
 * (0: never), and when the window regains focus.
 */
export function useLiveReload(
  api: Api,
  filter: Record<string, string>,
  reload: () => void,
  fallbackMs = FALLBACK_POLL_MS,
  settleMs = 100,
): void {
  const reloadRef = useRef(reload);
  reloadRef.current = reload;
  const key = JSON.stringify(filter);
  useEffect(() => {
    let pending: number | undefined;
    let poll: number | undefined;
    const soon = () => {
      if (pending !== undefined) return;
      pending = window.setTimeout(() => {
        pending = undefined;
        reloadRef.current();
      }, settleMs);
    };
    const stopPolling = () => {
      window.clearInterval(poll);
      poll = undefined;
    };
    const startPolling = () => {
      if (poll === undefined && fallbackMs > 0)
        poll = window.setInterval(() => reloadRef.current(), fallbackMs);
    };
    const onFocus = () => reloadRef.current();
    window.addEventListener('focus', onFocus);
    // Until the stream opens, the fallback poll keeps the view current.
    startPolling();
    const stop = api.stream('/events', JSON.parse(key) as Record<string, string>, {
      onOpen: () => {
        stopPolling();
        soon();
      },
      onEvent: soon,
      onDrop: startPolling,
    });
    return () => {
      stop();
      stopPolling();
      window.clearTimeout(pending);
      window.removeEventListener('focus', onFocus);
    };
  }, [api, key, fallbackMs, settleMs]);
}

/** The part of the URL after `#`, e.g. `/runs/run_1`; `/` when empty. */
export function useHashRoute(): string {
  const read = () => window.location.hash.replace(/^#/, '') || '/';
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
