// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      '.countersign/**',
      '.bench/**',
      'bin/**',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  {
    // The core is pure logic and ports: no adapter, surface, vendor SDK or I/O module.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', '**/main/**', '**/surfaces/**', '**/engine/**'],
              message: 'The core imports no outer layer.',
            },
            {
              group: [
                'kysely',
                'better-sqlite3',
                'pg',
                '@cedar-policy/*',
                '@modelcontextprotocol/*',
                'fastify',
                '@temporalio/*',
                '@slack/*',
                '@opentelemetry/*',
                'commander',
              ],
              message: 'No vendor SDK in the core.',
            },
            {
              group: [
                'node:fs',
                'node:fs/*',
                'node:net',
                'node:http',
                'node:child_process',
                'fs',
                'net',
                'http',
                'child_process',
              ],
              message: 'No I/O in the core.',
            },
          ],
        },
      ],
    },
  },
  {
    // Surfaces parse input and call the core; they never reach into adapters or main.
    files: ['src/surfaces/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/adapters/**', '**/main/**'], message: 'Surfaces call the core only.' },
            { group: ['@temporalio/*'], message: 'The Temporal SDK is loaded by src/main only.' },
            { group: ['@slack/*'], message: "Slack's SDK is loaded by src/main/slack.ts only." },
            { group: ['@opentelemetry/*'], message: 'Telemetry goes through the core port.' },
          ],
        },
      ],
    },
  },
  {
    // The engine (definitions, interpreter, runtimes) builds on the core's operations and
    // ports: no adapter, surface, composition root, I/O module or store/policy library (the
    // Temporal runtime, src/engine/temporal/, is the one place that imports @temporalio).
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', '**/main/**', '**/surfaces/**'],
              message: 'The engine calls the core only.',
            },
            {
              group: [
                'kysely',
                'better-sqlite3',
                'pg',
                '@cedar-policy/*',
                'fastify',
                'commander',
                '@opentelemetry/*',
              ],
              message: 'No store, policy, surface or telemetry library in the engine.',
            },
            {
              group: ['node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:child_process'],
              message: 'No I/O in the engine.',
            },
          ],
        },
      ],
    },
  },
  {
    // Workflow code (what the Temporal worker bundles and replays) must be deterministic: no
    // Node built-ins, no client or worker SDK, activities as types only.
    files: [
      'src/engine/temporal/workflows.ts',
      'src/engine/temporal/run-workflow.ts',
      'src/engine/temporal/contract.ts',
      'src/engine/temporal/failure-converter.cts',
      'src/engine/interpreter.ts',
      'src/engine/plan-steps.ts',
      'src/engine/plan-checks.ts',
      'src/engine/definition.ts',
      'src/engine/catalogue.ts',
      'src/engine/effects.ts',
      'src/engine/workflows/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/adapters/**', '**/main/**', '**/surfaces/**'],
              message: 'The engine calls the core only.',
            },
            {
              group: ['node:*', ...builtinModules],
              message: 'No Node built-ins in workflow code: it runs in a deterministic sandbox.',
            },
            {
              group: [
                '@temporalio/worker',
                '@temporalio/client',
                '@temporalio/activity',
                'kysely',
                'better-sqlite3',
                'pg',
                '@cedar-policy/*',
                'fastify',
                'commander',
              ],
              message: 'Workflow code cannot use I/O libraries.',
            },
            {
              group: [
                '**/activities.js',
                '**/embedded-runtime.js',
                '**/temporal-runtime.js',
                '**/model-gateway.js',
              ],
              allowTypeImports: true,
              message: 'Workflow code imports activities and runtimes as types only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The typed client (countersign/client) runs wherever fetch does and loads nothing of the
    // server: the catalogue's types and the error codes come in as types only.
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/core/**',
                '**/adapters/**',
                '**/main/**',
                '**/surfaces/**',
                '**/engine/**',
              ],
              allowTypeImports: true,
              message: 'The client imports the server as types only.',
            },
            {
              group: [
                'zod',
                'kysely',
                'better-sqlite3',
                'pg',
                '@cedar-policy/*',
                '@modelcontextprotocol/*',
                'fastify',
                '@temporalio/*',
                'commander',
                'node:*',
                ...builtinModules,
              ],
              message: 'The client needs no library and no Node built-in: only fetch.',
            },
          ],
        },
      ],
    },
  },
  {
    // The agent-framework adapters (countersign/ai-sdk, countersign/openai-agents) reach the
    // server through the typed client only: no server layer, no store or policy library.
    files: ['src/integrations/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/core/**',
                '**/adapters/**',
                '**/main/**',
                '**/surfaces/**',
                '**/engine/**',
              ],
              allowTypeImports: true,
              message: 'The integrations talk to Countersign through countersign/client only.',
            },
            {
              group: [
                'kysely',
                'better-sqlite3',
                'pg',
                '@cedar-policy/*',
                '@modelcontextprotocol/*',
                'fastify',
                '@temporalio/*',
                'commander',
              ],
              message: 'The integrations load no server library.',
            },
          ],
        },
      ],
    },
  },
  {
    // The Temporal SDK is an optional peer dependency: only the Temporal runtime and worker
    // (src/engine/temporal, src/adapters/temporal, src/main/temporal.ts, worker.ts) import it,
    // and they are loaded with import() when Temporal is configured (main/optional-packages.ts).
    // (The core's and the surfaces' own rules refuse it too; one rule per file, later wins.)
    files: ['src/index.ts', 'src/main/**/*.ts', 'src/adapters/**/*.ts'],
    ignores: [
      'src/adapters/temporal/**',
      'src/main/temporal.ts',
      'src/main/worker.ts',
      'src/main/slack.ts',
      'src/adapters/telemetry/**',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@temporalio/*'],
              allowTypeImports: true,
              message: 'Only the Temporal runtime and worker import @temporalio (optional peer).',
            },
            {
              // Slack's Web API client (optional peer) is loaded by src/main/slack.ts only.
              group: ['@slack/*'],
              message:
                'Only src/main/slack.ts imports @slack (optional peer, loaded with import()).',
            },
            {
              group: ['@opentelemetry/*'],
              allowTypeImports: true,
              message: 'Only src/adapters/telemetry imports @opentelemetry (optional peer).',
            },
          ],
        },
      ],
    },
  },
  {
    // The Slack client: imports @slack, and no other optional peer.
    files: ['src/main/slack.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@temporalio/*'], allowTypeImports: true, message: 'Not the Temporal SDK.' },
            { group: ['@opentelemetry/*'], message: 'Telemetry goes through the core port.' },
          ],
        },
      ],
    },
  },
  {
    // The OpenTelemetry adapter: the one place that imports @opentelemetry (optional peers),
    // loaded with import() by src/main/optional-packages.ts only when OTLP export is configured.
    files: ['src/adapters/telemetry/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/main/**', '**/surfaces/**', '**/engine/**'],
              message: 'An adapter implements a core port; it imports no outer layer.',
            },
            { group: ['@temporalio/*'], allowTypeImports: true, message: 'Not the Temporal SDK.' },
            { group: ['@slack/*'], message: 'Not the Slack SDK.' },
          ],
        },
      ],
    },
  },
  {
    // The approval console runs in the browser and reaches the server only over HTTP: no
    // server layer but the core's pure redaction rules.
    files: ['console/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/src/adapters/**',
                '**/src/main/**',
                '**/src/surfaces/**',
                '**/src/engine/**',
              ],
              message: 'The console talks to the server over the HTTP API only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/main/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // Test doubles implement async ports without awaiting, and tests pass methods to expect().
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Plain-JS fixtures and launchers are outside the TypeScript project.
    files: ['**/*.mjs', 'examples/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      parserOptions: { projectService: false, project: null },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off' },
  },
);
