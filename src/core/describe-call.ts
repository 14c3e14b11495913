import type { JsonObject } from './model.js';
import type { ToolDefinition } from './ports/tools.js';

/** The longest sentence a tool's describe() may return. */
export const DESCRIPTION_MAX = 300;

// Control characters, and the invisible ones that reorder or hide text (bidi overrides,
// zero-width marks): a sentence a reviewer trusts must read the same as it is stored.
// eslint-disable-next-line no-control-regex
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/**
 * What a call will do in one sentence, from the tool's `describe(params)`; null when the tool
 * has none. Whitespace and control characters fold to single spaces. A describe() that throws,
 * answers something other than text, or answers more than DESCRIPTION_MAX characters does not
 * stop the proposal: the sentence says so instead, and the reviewer reads the parameters.
 */
export function describeCall(tool: ToolDefinition, params: JsonObject): string | null {
  if (!tool.describe) return null;
  let sentence: unknown;
  try {
    sentence = tool.describe(params);
  } catch (e) {
    return fallback(tool, `its describe() failed: ${firstLine(e)}`);
  }
  if (typeof sentence !== 'string') return fallback(tool, 'its describe() returned no text');
  const clean = sentence.replace(HIDDEN, ' ').replace(/\s+/g, ' ').trim();
  if (clean === '') return fallback(tool, 'its describe() returned no text');
  if ([...clean].length > DESCRIPTION_MAX)
    return fallback(tool, `its describe() returned more than ${DESCRIPTION_MAX} characters`);
  return clean;
}

function fallback(tool: ToolDefinition, why: string): string {
  return `Runs ${tool.name} with the parameters shown (no description: ${why}).`;
}

function firstLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const line = message.replace(HIDDEN, ' ').replace(/\s+/g, ' ').trim().slice(0, 120);
  return line === '' ? 'an error' : line;
}
