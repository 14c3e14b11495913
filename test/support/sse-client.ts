/**
 * A server-sent events client over fetch's body reader (what the console does: EventSource
 * cannot send an Authorization header). Parses `id:`, `event:`, `data:` fields and comments.
 */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string | undefined;
}

export interface SseStream {
  readonly status: number;
  readonly headers: Headers;
  /** Events received so far, in order (id-only records included, with data undefined). */
  readonly events: SseEvent[];
  readonly comments: string[];
  /** The last `id:` seen. */
  lastId(): string | undefined;
  /** Waits until `pred` holds for the events received, or throws after `ms`. */
  until(pred: (events: readonly SseEvent[]) => boolean, ms?: number): Promise<void>;
  /** The body when the server refused the stream (non-200). */
  readonly body: unknown;
  readonly closed: Promise<void>;
  close(): void;
}

export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  let last: string | undefined;
  if (res.status !== 200) {
    const body: unknown = await res.json();
    return {
      status: res.status,
      headers: res.headers,
      events,
      comments,
      body,
      lastId: () => undefined,
      until: () => Promise.reject(new Error(`stream refused: ${res.status}`)),
      closed: Promise.resolve(),
      close: () => undefined,
    };
  }
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const closed = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let id: string | undefined;
          let event: string | undefined;
          let data: string | undefined;
          let fields = 0;
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) {
              comments.push(line.slice(1).trim());
              continue;
            }
            fields++;
            if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data = (data ? data + '\n' : '') + line.slice(6);
          }
          if (id !== undefined) last = id;
          if (fields > 0 && (data !== undefined || id !== undefined))
            events.push({ id, event, data });
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    body: undefined,
    lastId: () => last,
    async until(pred, ms = 10_000) {
      const deadline = Date.now() + ms;
      while (!pred(events)) {
        if (Date.now() > deadline)
          throw new Error(`stream: condition not met in ${ms} ms; got ${JSON.stringify(events)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    closed,
    close: () => abort.abort(),
  };
}

/** The data of the events that carry some, parsed. */
export function dataOf<T = Record<string, unknown>>(events: readonly SseEvent[]): T[] {
  return events.filter((e) => e.data !== undefined).map((e) => JSON.parse(e.data!) as T);
}
