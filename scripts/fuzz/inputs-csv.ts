/**
 * The fuzzer's hostile CSV cells for `npm run load` (scripts/fuzz/paths-csv.ts): what PostgreSQL, the CSV parser
 * or the column checks (actors/data/csv-values.ts) might choke on, per kind of column.
 */
import type { Prng } from '../../actors/kernel/prng.ts';

/** A CSV field that PostgreSQL, the parser or the checks might choke on (raw bytes; some are not UTF-8). */
export function hostileCell(rng: Prng, column: 'int' | 'real' | 'text' | 'other'): Buffer {
  const common: (string | number[])[] = ['', ' ', '"', '""', '"x', 'a"b', ',', '\r', '\n', 'NULL', '\\N', '\u0000', 'x\u0000y', '-', 'NaN', 'inf'];
  const byColumn: Record<typeof column, (string | number[])[]> = {
    int: ['2147483648', '-2147483649', '-2147483648', '99999999999999999999', '1.0', '1e3', '+1', '0x10', '００', '-0', '1 '],
    real: ['1e39', '-1e39', '1e-50', '-1e-46', '3.4028236e38', '1e-45', '1e308', '1e309', '.5', '5.', '1e', '--1', '1,5', '0.0'],
    text: [
      'x'.repeat(257),
      'é'.repeat(51),
      '👕'.repeat(256),
      '\ud800',
      [0xed, 0xa0, 0x80],
      [0xff, 0xfe],
      [0xc0, 0x80],
      [0xe2, 0x82],
      'a\u0000',
      '"quoted, with comma"',
      '"multi\nline"',
    ],
    other: ['men', 'MEN', 'Garden', 'X', 'F ', '2010-02-30', '2010-13-01', '99999-01-01', 'just_discount ', 'department\u0000'],
  };
  const v = rng.chance(0.7) ? rng.pick(byColumn[column]) : rng.pick(common);
  return typeof v === 'string' ? Buffer.from(v) : Buffer.from(v);
}
