import type { FastifyInstance } from 'fastify';
import { tokenContext } from '../../core/context.js';
import type { Services } from '../services.js';
import { createMcpHttpHandler } from '../mcp/streamable-http.js';
import { authenticate } from './app.js';
import { PURPOSE_MAX } from './request-bounds.js';

/**
 * MCP over Streamable HTTP at /mcp, behind the same bearer tokens as the API: the token's
 * principal is the caller, so an actor token can only act as its own actor, and an operator
 * token administers but never acts as an actor. X-Purpose, or a `purpose` argument, says why.
 */
export function mcpRoute(services: Services): (app: FastifyInstance) => void {
  const mcp = createMcpHttpHandler(services);
  return (app) => {
    app.route({
      method: ['POST', 'GET', 'DELETE'],
      url: '/mcp',
      handler: async (request, reply) => {
        const auth = await authenticate(services.kernel, request.headers.authorization);
        const raw = request.headers['x-purpose'];
        const purpose = (Array.isArray(raw) ? raw.join(', ') : (raw ?? ''))
          .trim()
          .slice(0, PURPOSE_MAX);
        reply.hijack();
        // An empty purpose: privileged tools then need a `purpose` argument (server.ts).
        await mcp.handle(request.raw, reply.raw, request.body, tokenContext(auth, purpose));
      },
    });
  };
}
