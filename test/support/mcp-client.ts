import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { expect } from 'vitest';
import { ERROR_CODES } from '../../src/core/errors.js';

/** Calls a tool and returns the result as the SDK client hands it over. */
export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** Asserts a successful result whose text is the JSON of its structured content; returns that content. */
export function ok<T = Record<string, unknown>>(result: CallToolResult): T {
  const text = result.content[0]?.type === 'text' ? result.content[0].text : undefined;
  expect(result.isError, text).toBeFalsy();
  expect(result.structuredContent).toBeDefined();
  expect(JSON.parse(text ?? 'null')).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

/** The stable code at the start of an error result's text, or undefined when it has none. */
export function errorCode(result: CallToolResult): string | undefined {
  if (!result.isError) return undefined;
  const first = result.content[0];
  const match = first?.type === 'text' ? /^([A-Z_]+): /.exec(first.text) : null;
  return match?.[1] && match[1] in ERROR_CODES ? match[1] : undefined;
}

/** Asserts an error result with `code`, no structured content and the error object in _meta; returns the text. */
export function fails(result: CallToolResult, code: string): string {
  expect(result.isError).toBe(true);
  expect(errorCode(result)).toBe(code);
  expect(result.structuredContent).toBeUndefined();
  expect(result._meta?.['countersign/error']).toMatchObject({ code });
  const first = result.content[0];
  return first?.type === 'text' ? first.text : '';
}
