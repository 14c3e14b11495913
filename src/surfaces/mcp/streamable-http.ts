import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallContext } from '../../core/context.js';
import type { Services } from '../services.js';
import { type McpServerOptions, createMcpServer, logInternalError } from './server.js';

const NOT_POST = 'Method not allowed: this MCP endpoint is stateless and takes POST only.';

export interface McpHttpHandler {
  /**
   * Serves one MCP Streamable HTTP request for a caller already authenticated as `ctx`.
   * `parsedBody` is the JSON body the web framework parsed (the request stream has been read).
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    parsedBody: unknown,
    ctx: CallContext,
  ): Promise<void>;
}

/**
 * MCP over Streamable HTTP, stateless: every POST gets its own server and transport bound to
 * the caller's context, answered with a plain JSON response, and both are closed when the
 * response ends. No session is kept, so any instance can serve any request, and a token's
 * rights are checked on every call. GET (a server-to-client stream) and DELETE (ending a
 * session) have nothing to serve and get 405, which clients take as "no stream offered".
 *
 * @example
 * const mcp = createMcpHttpHandler(services);
 * app.post('/mcp', async (request, reply) => {
 *   reply.hijack();
 *   await mcp.handle(request.raw, reply.raw, request.body, contextOf(request));
 * });
 */
export function createMcpHttpHandler(
  services: Services,
  options: McpServerOptions = {},
): McpHttpHandler {
  return {
    async handle(req, res, parsedBody, ctx) {
      if (req.method !== 'POST') {
        sendJsonRpcError(res, 405, -32000, NOT_POST, { Allow: 'POST' });
        return;
      }
      const server = createMcpServer(services, () => ctx, options);
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      res.on('close', () => {
        // Closing the server closes its transport.
        server.close().catch(() => undefined);
      });
      try {
        await server.connect(transport);
        await transport.handleRequest(req, res, parsedBody);
      } catch (e) {
        (options.onInternalError ?? logInternalError)(e, 'mcp http request');
        if (!res.headersSent) sendJsonRpcError(res, 500, -32603, 'Internal server error.');
        else res.end();
      }
    },
  };
}

function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, { 'Content-Type': 'application/json', ...headers })
    .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}
