import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { DEFINITIONS } from '../src/engine/workflows/index.js';
import { buildProgram } from '../src/main/cli.js';
import { OPERATIONS } from '../src/surfaces/operations.js';
import { buildOpenApi } from '../src/surfaces/http/openapi.js';

/**
 * What users read speaks of the product: the documents it was specified from ("seed 002",
 * "prompt 11.3") mean nothing to them, in `--help`, the API document or a definition's
 * description.
 */
const SOURCE_DOCUMENTS = /\bseed\s*0\d\d\b|\bseed's\b|\bprompt 11\.\d\b/i;

function helpTexts(cmd: Command, path: string[] = []): [string, string][] {
  const here: [string, string][] = [[[...path, cmd.name()].join(' '), cmd.helpInformation()]];
  return here.concat(cmd.commands.flatMap((c) => helpTexts(c, [...path, cmd.name()])));
}

describe('user-facing text', () => {
  it('never names the source documents in any command help', () => {
    const texts = helpTexts(buildProgram(() => {}));
    expect(texts.length).toBeGreaterThan(20);
    for (const [name, text] of texts) expect(text, name).not.toMatch(SOURCE_DOCUMENTS);
  });

  it('never names them in the OpenAPI document or the workflow definitions', () => {
    expect(JSON.stringify(buildOpenApi(OPERATIONS))).not.toMatch(SOURCE_DOCUMENTS);
    for (const d of DEFINITIONS) expect(d.description, d.name).not.toMatch(SOURCE_DOCUMENTS);
  });

  it('would notice if one did', () => {
    expect("run seed 002's complete example").toMatch(SOURCE_DOCUMENTS);
    expect('Seed 001 (11.3): retrieve').toMatch(SOURCE_DOCUMENTS);
  });
});

describe("the README's change-control walkthrough", () => {
  it('runs as written, from the shipped change.json to an approved risk gate', () => {
    const readme = fs.readFileSync('README.md', 'utf8');
    const block = /examples\/ops-change-control\/change\.json`[\s\S]*?```sh\n([\s\S]*?)```/.exec(
      readme,
    )?.[1];
    expect(block, 'the walkthrough block').toBeDefined();
    // Lines naming a run ID the reader fills in (run_…) are left out.
    const commands = block!
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l.startsWith('npx countersign ') && !l.includes('…'));
    expect(commands.length).toBeGreaterThanOrEqual(4);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-readme-walk-'));
    const outputs = commands.map((line) => {
      const args = [...line.slice('npx countersign '.length).matchAll(/"([^"]*)"|(\S+)/g)].map(
        (m) => m[1] ?? m[2]!,
      );
      return execFileSync(process.execPath, ['bin/countersign.js', ...args], {
        env: { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_SERVER: '' },
        encoding: 'utf8',
      });
    });
    expect(outputs.join('\n')).toContain('actor_id: actor_3');
    expect(outputs.at(-1)).toMatch(/approval_1: approved/);
    expect(outputs.at(-1)).toContain('risk_review: approve by actor_3 ("risk confirmed")');
  }, 60_000);
});
