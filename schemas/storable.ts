/**
 * What PostgreSQL's jsonb cannot hold, found before an append rather than by a failed batch:
 * the NUL character, lone UTF-16 surrogates, and nesting deeper than storeflow accepts.
 */

/** Deepest nesting of objects and arrays accepted in a stored document (PostgreSQL's own limit is the stack). */
export const MAX_DEPTH = 64;

// a NUL, a high surrogate not followed by a low one, a low one not after a high one
// biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL character is what jsonb refuses
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the NUL character is what jsonb refuses
const UNSTORABLE_ALL = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The text with every character jsonb refuses replaced by U+FFFD, so a record about bad input can always be kept. */
export function storableText(text: string): string {
  return UNSTORABLE.test(text) ? text.replace(UNSTORABLE_ALL, '\ufffd') : text;
}

/** Why a parsed JSON value cannot be stored as jsonb, or undefined when it can. */
export function unstorableReason(value: unknown, depth = 0): string | undefined {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? 'a string holds a NUL character or a lone surrogate' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_DEPTH) return `nested deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (const v of value) {
      const r = unstorableReason(v, depth + 1);
      if (r) return r;
    }
    return undefined;
  }
  for (const k in value) {
    if (UNSTORABLE.test(k)) return 'a key holds a NUL character or a lone surrogate';
    const r = unstorableReason((value as Record<string, unknown>)[k], depth + 1);
    if (r) return r;
  }
  return undefined;
}
