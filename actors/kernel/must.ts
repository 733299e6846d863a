/**
 * The value a lookup is known to hold (a registry entry after has(), a regular expression's group
 * after it matched, a field a state guarantees): returned narrowed, or a thrown Error naming what
 * was missing, so a broken invariant fails where it breaks instead of as an undefined further on.
 */
export function must<T>(value: T, what: string): NonNullable<T> {
  if (value === undefined || value === null) throw new Error(`${what} is missing`);
  return value as NonNullable<T>;
}
