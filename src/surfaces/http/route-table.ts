/**
 * Which methods the server answers on a concrete path, for `405 Method Not Allowed` and its
 * `Allow` header.
 *
 * Fastify keeps one routing tree per method, so `GET /workflows/start` would reach
 * `GET /workflows/:workflow_id` although `/workflows/start` is the static route of
 * `POST` only. A client (and the OpenAPI document, one path item per resource) sees one
 * resource per path instead: the most specific pattern that matches the path owns it for every
 * method, ranked as Fastify's router ranks them (at the first segment where two patterns
 * differ, a static segment beats a `:param`, and a `:param` beats `*`). Every other method on
 * that path is a 405 naming exactly the owner's methods.
 */

type Segment = { readonly kind: 'static'; readonly text: string } | { readonly kind: 'param' };

interface Shape {
  readonly key: string;
  readonly segments: readonly Segment[];
  /** A trailing `*`: matches the rest of the path, even nothing. */
  readonly wildcard: boolean;
  readonly methods: Set<string>;
}

/** The conventional order of methods in `Allow`; others follow alphabetically. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function byMethodOrder(a: string, b: string): number {
  const ia = METHOD_ORDER.indexOf(a);
  const ib = METHOD_ORDER.indexOf(b);
  if (ia !== -1 || ib !== -1) return (ia === -1 ? 99 : ia) - (ib === -1 ? 99 : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

function segmentsOf(path: string): string[] {
  return path.split('/').slice(1);
}

/** The routing key of a Fastify URL pattern: static segments as they are, `:` for parameters. */
function parse(url: string): { key: string; segments: Segment[]; wildcard: boolean } {
  const parts = segmentsOf(url);
  const wildcard = parts.at(-1) === '*';
  if (wildcard) parts.pop();
  const segments = parts.map<Segment>((p) =>
    p.includes(':') ? { kind: 'param' } : { kind: 'static', text: p },
  );
  const key =
    '/' +
    segments.map((s) => (s.kind === 'param' ? ':' : s.text)).join('/') +
    (wildcard ? '/*' : '');
  return { key, segments, wildcard };
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** -1 when `a` is the more specific pattern, 1 when `b` is (both match the same path). */
function compareSpecificity(a: Shape, b: Shape): number {
  const n = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const rank = (s: Shape) => {
      const seg = s.segments[i];
      return seg === undefined ? 2 : seg.kind === 'static' ? 0 : 1;
    };
    const d = rank(a) - rank(b);
    if (d !== 0) return d;
  }
  return 0;
}

export class RouteTable {
  private readonly shapes = new Map<string, Shape>();

  /** Records a route as Fastify registers it (the `onRoute` hook, automatic HEAD routes included). */
  add(method: string | readonly string[], url: string): void {
    const { key, segments, wildcard } = parse(url);
    let shape = this.shapes.get(key);
    if (!shape) {
      shape = { key, segments, wildcard, methods: new Set() };
      this.shapes.set(key, shape);
    }
    for (const m of typeof method === 'string' ? [method] : method) shape.methods.add(m);
  }

  /** The routing key of a registered URL pattern, to compare with `owner(path).key`. */
  keyOf(url: string): string {
    return parse(url).key;
  }

  /** Whether a URL pattern can match more than one path (it has a parameter or a wildcard). */
  isPattern(url: string): boolean {
    return url.includes(':') || url.includes('*');
  }

  /** The route pattern that owns a concrete path (no query string) and its methods, or none. */
  owner(path: string): { key: string; methods: string[] } | undefined {
    const parts = segmentsOf(path).map(decodeSegment);
    let best: Shape | undefined;
    for (const shape of this.shapes.values()) {
      if (!matches(shape, parts)) continue;
      if (!best || compareSpecificity(shape, best) < 0) best = shape;
    }
    return best && { key: best.key, methods: [...best.methods].sort(byMethodOrder) };
  }
}

function matches(shape: Shape, parts: readonly string[]): boolean {
  const n = shape.segments.length;
  if (shape.wildcard ? parts.length <= n : parts.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const seg = shape.segments[i]!;
    const part = parts[i]!;
    if (seg.kind === 'static' ? seg.text !== part : part === '') return false;
  }
  return true;
}
