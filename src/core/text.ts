import { z } from 'zod';

/**
 * Has a character other than whitespace: ECMAScript's `\S`, spelled out so that a JSON Schema
 * `pattern` made from it reads the same in other regular expression dialects (Python's `\s`
 * also matches \x1c-\x1f and \x85).
 */
export const NOT_BLANK =
  /[^\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * A string of at most `max` characters, counted as JSON Schema's maxLength counts them: in
 * code points, so an emoji is one character, not the two UTF-16 units of `string.length`.
 */
export const chars = (max: number) =>
  z
    .string()
    .refine((s) => s.length <= max || codePoints(s) <= max, {
      message: `must be at most ${max} characters`,
    })
    .meta({ maxLength: max });

/**
 * Text that says something, kept trimmed. Both bounds hold for the text as sent, as a JSON
 * Schema can state them: at most `max` characters, one of them not whitespace.
 */
export const text = (max: number) => chars(max).regex(NOT_BLANK, 'must not be empty').trim();
