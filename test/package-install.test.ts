import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-install-'));
const env = {
  ...process.env,
  COUNTERSIGN_TEMPORAL_ADDRESS: '',
  // better-sqlite3 compiles against the system's Node headers when present (as .ci/run does).
  ...(fs.existsSync('/usr/include/node/node.h') ? { npm_config_nodedir: '/usr' } : {}),
};

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/**
 * The package as published: `npm pack` (prepack builds), installed with production
 * dependencies only into an empty project. The npm cache of the checkout's install serves
 * the tarballs (--prefer-offline: the registry is asked only for what the cache lacks).
 */
describe('npm pack, then npm install in an empty directory', () => {
  it('installs without Temporal, runs the CLI and the server, imports the library and the client', async () => {
    const packed = await run('npm', ['pack', '--pack-destination', work], {
      env,
      maxBuffer: 1 << 26,
    });
    const tarball = path.join(work, packed.stdout.trim().split('\n').at(-1)!);
    const project = path.join(work, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(
      path.join(project, 'package.json'),
      '{"name":"p","private":true,"type":"module"}',
    );
    const installed = await run(
      'npm',
      ['install', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: project, env, maxBuffer: 1 << 26 },
    );
    expect(installed.stderr).not.toContain('EBADENGINE');
    const modules = path.join(project, 'node_modules');
    expect(fs.existsSync(path.join(modules, '@temporalio'))).toBe(false);
    const pkg = path.join(modules, 'countersign');
    for (const shipped of [
      'dist/src/index.d.ts',
      'dist/src/client/index.d.ts',
      'dist/console/index.html',
      'policies',
    ])
      expect(fs.existsSync(path.join(pkg, shipped)), shipped).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist/bench'))).toBe(false);

    const help = await run('npx', ['--no-install', 'countersign', '--help'], { cwd: project, env });
    expect(help.stdout).toContain('Usage: countersign');

    // Temporal configured without its packages: a clear error naming the install, no stack.
    const missing = await run('npx', ['--no-install', 'countersign', 'worker'], {
      cwd: project,
      env: { ...env, COUNTERSIGN_DATA_DIR: path.join(work, 'w') },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 1 });
    expect((missing as { stderr: string }).stderr).toContain('error DEPENDENCY_MISSING');
    expect((missing as { stderr: string }).stderr).toContain(
      'npm install @temporalio/activity@^1.24.0 @temporalio/client@^1.24.0',
    );
    expect((missing as { stderr: string }).stderr).not.toMatch(/\n\s+at /);

    // Slack approvals configured without Slack's client: the same, naming its install.
    expect(fs.existsSync(path.join(modules, '@slack'))).toBe(false);
    const noSlack = await run('npx', ['--no-install', 'countersign', 'serve', '--port', '0'], {
      cwd: project,
      env: {
        ...env,
        COUNTERSIGN_DATA_DIR: path.join(work, 's'),
        COUNTERSIGN_SLACK_BOT_TOKEN: 'xoxb-not-used',
        COUNTERSIGN_SLACK_SIGNING_SECRET: 'signing-secret-0123456789',
        COUNTERSIGN_SLACK_CHANNEL: 'C0123',
      },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(noSlack).toMatchObject({ code: 1 });
    expect((noSlack as { stderr: string }).stderr).toContain('error DEPENDENCY_MISSING');
    expect((noSlack as { stderr: string }).stderr).toContain('npm install @slack/web-api@^8.2.0');
    expect((noSlack as { stderr: string }).stderr).not.toMatch(/\n\s+at /);

    const child = spawn('npx', ['--no-install', 'countersign', 'serve', '--port', '0'], {
      cwd: project,
      env: { ...env, COUNTERSIGN_DATA_DIR: path.join(work, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const health = await fetch(`${url}/healthz`);
      expect(await health.json()).toEqual({ ok: true });
      const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: object };
      expect(Object.keys(openapi.paths)).toContain('/proposals');
    } finally {
      child.kill('SIGTERM');
    }

    fs.writeFileSync(
      path.join(project, 'use.mjs'),
      `import { createCountersign, operatorContext } from 'countersign';
import { createClient } from 'countersign/client';
// The framework adapters load without their frameworks (optional peers, not installed here).
import { governTools } from 'countersign/ai-sdk';
import { resolveInterruptions } from 'countersign/openai-agents';
const cs = await createCountersign({ dataDir: ${JSON.stringify(path.join(work, 'lib'))} });
const { actor_id } = await cs.call(operatorContext('t'), 'register_actor', { name: 'A', role: 'Developer' });
await cs.close();
const client = createClient({ baseUrl: 'http://127.0.0.1:1' });
process.stdout.write(JSON.stringify({ actor_id, client: typeof client.proposeAction, adapters: typeof governTools + typeof resolveInterruptions }));
`,
    );
    const used = await run(process.execPath, ['use.mjs'], { cwd: project, env });
    expect(JSON.parse(used.stdout)).toEqual({
      actor_id: 'actor_1',
      client: 'function',
      adapters: 'functionfunction',
    });
    for (const peer of ['ai', '@openai/agents'])
      expect(fs.existsSync(path.join(modules, peer)), peer).toBe(false);
  }, 600_000);
});
