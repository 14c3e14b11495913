import type { FastifyInstance } from 'fastify';

/**
 * The console's Content-Security-Policy. The built console is one module script and one
 * stylesheet from its own origin (no inline script or style element, no eval), talks only to
 * the API on that origin, and sets styles only through the DOM (React `style` props, which
 * `style-src` does not govern), so `'self'` is all it needs. `img-src 'self'` keeps a report a
 * model wrote from making the browser fetch a remote image; `frame-ancestors 'none'` keeps
 * other pages from framing the approve buttons (clickjacking).
 */
export const CONSOLE_CSP = "default-src 'self'; img-src 'self'; frame-ancestors 'none'";

/**
 * `X-Content-Type-Options: nosniff` on every answer (API, MCP, console, errors), so a browser
 * never runs an answer as a script or a page its Content-Type does not say it is. Set on the
 * raw response, so answers that bypass Fastify's reply (the MCP route) carry it too.
 */
export function noSniff(app: FastifyInstance): void {
  app.addHook('onRequest', (_req, reply, done) => {
    reply.raw.setHeader('x-content-type-options', 'nosniff');
    done();
  });
}
