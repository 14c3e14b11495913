import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CONSOLE_CSP } from './security-headers.js';

export interface ConsoleRouteOptions {
  /** The Vite build of console/ (index.html and assets/). */
  readonly dir: string;
  /** Link template to a run in the Temporal UI, `{workflow_id}` replaced; null hides the link. */
  readonly temporalUiUrl: string | null;
}

/**
 * The approval console at `/`: the built static files, and `/console-config.json` with the
 * settings the page cannot get from the API. Only files that exist are routed, so every other
 * path still reaches the API's JSON not-found and method-not-allowed answers. The console
 * itself talks to the server only through the HTTP API. Everything served here carries the
 * console's Content-Security-Policy (security-headers.ts).
 */
export function consoleRoute(options: ConsoleRouteOptions): (app: FastifyInstance) => void {
  return (app) => {
    const config = JSON.stringify({ temporal_ui_url: options.temporalUiUrl });
    app.get('/console-config.json', (_req, reply) => {
      void reply
        .type('application/json; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('content-security-policy', CONSOLE_CSP)
        .send(config);
    });
    if (!fs.existsSync(path.join(options.dir, 'index.html'))) {
      app.get('/', (_req, reply) => {
        void reply
          .code(503)
          .header('content-security-policy', CONSOLE_CSP)
          .type('text/plain; charset=utf-8')
          .send('The console is not built: run `npm run build`, then start the server again.\n');
      });
      return;
    }
    // Loaded only when a server starts: every CLI command imports this module's caller.
    void app.register(async (scope) => {
      const { default: fastifyStatic } = await import('@fastify/static');
      await scope.register(fastifyStatic, {
        root: options.dir,
        wildcard: false,
        index: ['index.html'],
        // Hashed asset names change with every build; index.html must always be fresh.
        setHeaders: (res, file) => {
          res.setHeader('content-security-policy', CONSOLE_CSP);
          res.setHeader(
            'cache-control',
            file.includes(`${path.sep}assets${path.sep}`)
              ? 'public, max-age=31536000, immutable'
              : 'no-cache',
          );
        },
      });
    });
  };
}

/** dist/console of the package this file belongs to, from src/ (tests) or dist/src/ (built). */
export function defaultConsoleDir(from: string = import.meta.dirname): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'dist', 'console');
    const parent = path.dirname(dir);
    if (parent === dir) return path.join(from, 'console');
    dir = parent;
  }
}
