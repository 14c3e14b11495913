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
