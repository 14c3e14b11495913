import Markdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { ActorName } from '../actors.js';

/**
 * Whether an image at `src` would load from the console's own origin (`base`, the page's URL).
 * Relative paths do; other hosts, `data:` and anything unparsable do not.
 */
export function isSameOrigin(src: string, base: string): boolean {
  try {
    const url = new URL(src, base);
    return /^https?:$/.test(url.protocol) && url.origin === new URL(base).origin;
  } catch {
    return false;
  }
}

/**
 * An image in text a model wrote. A remote one never loads: fetching it would tell its server
 * that the report was opened, and a model steered by injected text can put anything it read
 * (context, secrets) into the image's URL. It is shown as text instead, URL included, so the
 * reviewer sees what the report tried to load. (The console's Content-Security-Policy,
 * `img-src 'self'`, would block the request too; this keeps it from being attempted.)
 */
function ReportImage({ src, alt, title }: { src?: unknown; alt?: string; title?: string }) {
  const url = typeof src === 'string' ? src : '';
  if (url && isSameOrigin(url, window.location.href))
    return <img src={url} alt={alt ?? ''} title={title} />;
  return (
    <span className="blocked-image" data-testid="blocked-image">
      [image not loaded: {alt || 'no description'}
      {url ? (
        <>
          {' — '}
          <code>{url}</code>
        </>
      ) : null}
      ]
    </span>
  );
}

/** A table cell that holds nothing but an actor ID (a reviewer, who started the run). */
const ACTOR_ID = /^(?:actor_\d+|operator)$/;

const COMPONENTS: Components = {
  img: ({ src, alt, title }) => <ReportImage src={src} alt={alt} title={title} />,
  // People by name and role, the ID on hover, as everywhere else in the console.
  td: ({ children, style }) => (
    <td style={style}>
      {typeof children === 'string' && ACTOR_ID.test(children) ? (
        <ActorName id={children} />
      ) : (
        children
      )}
    </td>
  ),
};

/** Markdown written by an agent (an audit report), with GFM tables and no remote images. */
export function ReportMarkdown({ children }: { children: string }) {
  return (
    <Markdown remarkPlugins={[remarkGfm]} components={COMPONENTS}>
      {children}
    </Markdown>
  );
}
