/**
 * The fuzzer's hostile URL parts (path segments and query strings), from the same seeded PRNG as its bodies
 * (inputs.ts): bad percent-escapes, traversal, very long pieces, numbers and dates out of range. Apart from the
 * bodies because every route with a parameter or a query gets these, whatever its body.
 */
import type { Prng } from '../../actors/kernel/prng.ts';
import { UNKNOWN_IDS } from './inputs.ts';

const BAD_ESCAPES = ['%', '%E0%A4%A', '%ZZ', '%C0%80', '%ED%A0%80', '%FF', '%00', '%2e%2e%2f', '%%', '%u0041', '%F0%9F%98'];
const PATH_PIECES = ['..', '.', '', '~', 'x'.repeat(2000), '%2F', '\u00e9', '%e9', ';', '?', '#', '*', 'null', 'undefined', '[]', '{}', '$'];

/** A hostile path segment: bad escapes, traversal, very long, or one of `known` (a real id). */
export function hostileSegment(rng: Prng, known: string[] = []): string {
  switch (rng.int(0, 5)) {
    case 0:
      return rng.pick(BAD_ESCAPES);
    case 1:
      return `${rng.pick(known.length ? known : ['1'])}${rng.pick(BAD_ESCAPES)}`;
    case 2:
      return encodeURIComponent(String(rng.pick(UNKNOWN_IDS))).slice(0, 3000);
    case 3:
      return rng.pick(PATH_PIECES);
    case 4:
      return known.length ? rng.pick(known) : '1';
    default:
      return Array.from({ length: rng.int(1, 4) }, () => rng.pick([...BAD_ESCAPES, ...PATH_PIECES])).join(rng.pick(['/', '', '%2F']));
  }
}

/** A hostile query string for `params` (plus stray ones): bad escapes, huge numbers, dates out of range, repeats. */
export function hostileQuery(rng: Prng, params: string[]): string {
  const values = [
    '1e22',
    '-1',
    'NaN',
    '',
    '8640000000000001',
    '99999999999999999999',
    '0x1',
    '2024-02-30T10:00:00Z',
    '+275760-09-13T00:00:00Z',
    '2024-05-01T10:00:00+25:00',
    '10:00',
    'now',
    '%',
    '%E0%A4%A',
    '%00',
    'x'.repeat(3000),
    '1&2',
    '0',
    '1',
    '123456789012345',
  ];
  const n = rng.int(0, 3);
  const parts: string[] = [];
  for (let i = 0; i < n || parts.length === 0; i++) {
    const name = rng.chance(0.85) && params.length ? rng.pick(params) : rng.pick(['', '=', '%', 'x', '__proto__', 'constructor']);
    parts.push(rng.chance(0.1) ? name : `${name}=${rng.pick(values)}`);
  }
  return `?${parts.join('&')}`;
}
