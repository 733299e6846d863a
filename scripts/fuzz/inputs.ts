/**
 * The fuzzer's hostile inputs, generated from a seeded PRNG (actors/kernel/prng.ts): same seed, same
 * inputs. Pure functions; the paths (scripts/fuzz/paths-*.ts) send them. Each input names its kind,
 * so a failure can be traced to the generator that found it. Here the request bodies; hostile URL parts
 * are inputs-url.ts, hostile CSV cells inputs-csv.ts.
 *
 * Kinds: valid (a template as is, to reach deep code), malformed-json, wrong-types, unknown-ids,
 * nul, lone-surrogate, bad-utf8, huge-string, deep-nesting, huge-number, oversized, random-bytes.
 */
import type { Prng } from '../../actors/kernel/prng.ts';

export type Kind =
  | 'valid'
  | 'malformed-json'
  | 'wrong-types'
  | 'unknown-ids'
  | 'nul'
  | 'lone-surrogate'
  | 'bad-utf8'
  | 'huge-string'
  | 'deep-nesting'
  | 'huge-number'
  | 'oversized'
  | 'random-bytes';

export interface Body {
  kind: Kind;
  bytes: Buffer;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Values that have broken something somewhere (wrong type for every field, edge numbers, injections). */
export const HOSTILE_VALUES: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1e22,
  -1e22,
  1e308,
  -1e308,
  5e-324,
  // biome-ignore lint/correctness/noPrecisionLoss: a number past 2^53 is one of the hostile values, on purpose
  9007199254740993,
  2147483648,
  -2147483649,
  4294967296,
  0.1,
  '',
  ' ',
  'NaN',
  'Infinity',
  '-1',
  '1e22',
  '0x10',
  '１２',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ufeff',
  '\u202e',
  '../../../etc/passwd',
  "' OR '1'='1' --",
  '"; DROP TABLE events; --',
  '<script>alert(1)</script>',
  '%E0%A4%A',
  '%00',
  '#',
  '+',
  '$SYS/#',
  '𝕏'.repeat(40),
  'x'.repeat(300),
  '2024-02-30T25:61:61Z',
  '+275760-09-13T00:00:00.001Z',
  '-271821-04-19T00:00:00Z',
  '9999-12-31T23:59:59Z',
  [],
  {},
  [[]],
  [null],
  { '': null },
  { __proto__: null, constructor: { prototype: {} } } as unknown as Json,
  [1, 2, 3],
];

/** Ids that exist nowhere, or look like something else. */
export const UNKNOWN_IDS: Json[] = [
  '999999999',
  '-1',
  '0',
  'does-not-exist',
  '00000000-0000-0000-0000-000000000000',
  'customer-1',
  '1.5',
  '1e3',
  ' 1',
  '1 ',
  '../1',
  '%31',
  '\u0000',
  'x'.repeat(65),
  'x'.repeat(5000),
  99999999999,
  -42,
  1.5,
  1e21,
  '１',
];

const KINDS: Kind[] = [
  'valid',
  'malformed-json',
  'wrong-types',
  'unknown-ids',
  'nul',
  'lone-surrogate',
  'bad-utf8',
  'huge-string',
  'deep-nesting',
  'huge-number',
  'oversized',
  'random-bytes',
];
/** Weights: cheap, varied inputs often; megabyte ones rarely (they cost time, not coverage). */
const WEIGHTS: Record<Kind, number> = {
  valid: 8,
  'malformed-json': 14,
  'wrong-types': 18,
  'unknown-ids': 12,
  nul: 8,
  'lone-surrogate': 8,
  'bad-utf8': 6,
  'huge-string': 4,
  'deep-nesting': 8,
  'huge-number': 10,
  oversized: 0.5,
  'random-bytes': 3.5,
};
const TOTAL = KINDS.reduce((s, k) => s + WEIGHTS[k], 0);

export function pickKind(rng: Prng): Kind {
  let x = rng.float() * TOTAL;
  for (const k of KINDS) {
    x -= WEIGHTS[k];
    if (x < 0) return k;
  }
  return 'valid';
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** A field path to change: a key of the template (or one of `fields`), at the top or one level down. */
function targetOf(rng: Prng, body: Record<string, Json>, fields: string[]): { obj: Record<string, Json>; key: string } {
  const nested = Object.entries(body).filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v)) as [string, Record<string, Json>][];
  if (nested.length && rng.chance(0.3)) {
    const [, obj] = rng.pick(nested);
    const keys = Object.keys(obj);
    return { obj, key: keys.length ? rng.pick(keys) : rng.pick(fields) };
  }
  const keys = Object.keys(body);
  return { obj: body, key: keys.length && rng.chance(0.8) ? rng.pick(keys) : rng.pick(fields.length ? fields : ['id']) };
}

function nest(rng: Prng, depth: number): string {
  return rng.chance(0.5) ? '['.repeat(depth) + ']'.repeat(depth) : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

function randomBytes(rng: Prng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.uint32() & 255;
  return b;
}

/** Text-level damage to valid JSON: truncation, stray characters, JavaScript-only literals. */
function malformed(rng: Prng, text: string): string {
  switch (rng.int(0, 9)) {
    case 0:
      return text.slice(0, rng.int(0, Math.max(0, text.length - 1)));
    case 1:
      return text.replace(/:(\d+)/, ':NaN');
    case 2:
      return text.replace(/:(\d+)/, ':Infinity');
    case 3:
      return text.replace(/}$/, ',}');
    case 4:
      return text.replace(/"([a-z_]+)":/, '$1:');
    case 5:
      return `${text}${text}`;
    case 6:
      return text.replace(/"/g, "'");
    case 7:
      return rng.pick(['', ' ', 'null', '[]', '"x"', '1', 'true', '{', '}', '{"', '\ufeff{}', '{}garbage', 'undefined']);
    case 8:
      return text.replace(/:(\d+)/, ':1e999');
    default:
      return text.replace(/:"([^"]*)"/, ':"$1');
  }
}

export interface BodyOptions {
  /** Bytes the endpoint accepts: huge strings stay below, oversized bodies go above. */
  limit: number;
  /** Field names worth setting (from the endpoint's schema and storeflow's messages). */
  fields: string[];
}

/** One hostile JSON body derived from a valid template. */
export function hostileBody(rng: Prng, template: Record<string, Json>, o: BodyOptions, kind: Kind = pickKind(rng)): Body {
  const body = clone(template);
  const text = (v: unknown) => Buffer.from(JSON.stringify(v));
  switch (kind) {
    case 'valid':
      return { kind, bytes: text(body) };
    case 'malformed-json':
      return { kind, bytes: Buffer.from(malformed(rng, JSON.stringify(body))) };
    case 'wrong-types': {
      for (let n = rng.int(1, 3); n > 0; n--) {
        const t = targetOf(rng, body, o.fields);
        t.obj[t.key] = clone(rng.pick(HOSTILE_VALUES));
      }
      return { kind, bytes: text(rng.chance(0.1) ? rng.pick(HOSTILE_VALUES) : body) };
    }
    case 'unknown-ids': {
      const idKeys = ['id', 'customer_id', 'coupon_id', 'routing_key'];
      const t = targetOf(rng, body, o.fields);
      const key = Object.keys(t.obj).find((k) => idKeys.includes(k)) ?? t.key;
      t.obj[key] = rng.pick(UNKNOWN_IDS);
      return { kind, bytes: text(body) };
    }
    case 'nul': {
      const t = targetOf(rng, body, o.fields);
      t.obj[rng.chance(0.2) ? `k\u0000${t.key}` : t.key] = `${String(t.obj[t.key] ?? '')}\u0000${rng.pick(['', 'x', '\u0000'])}`;
      return { kind, bytes: text(body) };
    }
    case 'lone-surrogate': {
      const t = targetOf(rng, body, o.fields);
      t.obj[t.key] = `${String(t.obj[t.key] ?? '')}${rng.pick(['\ud800', '\udc00', '\udbff\ud800', 'a\udfff'])}`;
      return { kind, bytes: text(body) };
    }
    case 'bad-utf8': {
      // invalid byte sequences inside a string value: lone continuation, overlong NUL, CESU surrogate, cut sequence
      const bad = rng.pick([[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe0, 0xa4], [0xff], [0xf8, 0x88, 0x80, 0x80, 0x80]]);
      const s = JSON.stringify(body);
      const at = s.indexOf('"', 1) > 0 ? s.indexOf('"', s.indexOf(':') + 1) + 1 : 1;
      return { kind, bytes: Buffer.concat([Buffer.from(s.slice(0, at)), Buffer.from(bad), Buffer.from(s.slice(at))]) };
    }
    case 'huge-string': {
      const t = targetOf(rng, body, o.fields);
      t.obj[t.key] = rng.pick(['x', '\u00e9', '\u{1F455}', '\\', '"']).repeat(rng.int(1000, Math.max(1001, Math.floor(o.limit / 6))));
      return { kind, bytes: text(body) };
    }
    case 'deep-nesting': {
      const depth = rng.pick([33, 64, 500, 5000, 50_000]);
      const deep = nest(rng, Math.min(depth, Math.floor(o.limit / 6)));
      const at = rng.chance(0.2) ? 'root' : rng.pick(Object.keys(body).length ? Object.keys(body) : ['pad']);
      return { kind, bytes: Buffer.from(at === 'root' ? deep : JSON.stringify({ ...body, [at]: '\u0001' }).replace('"\\u0001"', deep)) };
    }
    case 'huge-number': {
      const t = targetOf(rng, body, o.fields);
      const n = rng.pick([
        '1e22',
        '-1',
        '1e308',
        '-1e308',
        '1e-400',
        '123456789012345678901234567890',
        '-0',
        '0.0000001',
        '4.9e-324',
        '1.7976931348623157e309',
        '2147483648',
        '9007199254740993',
      ]);
      return { kind, bytes: Buffer.from(JSON.stringify({ ...body, [t.key]: '\u0001' }).replace('"\\u0001"', n)) };
    }
    case 'oversized':
      return { kind, bytes: text({ ...body, pad: 'x'.repeat(o.limit + rng.int(1, 64 * 1024)) }) };
    case 'random-bytes':
      return { kind, bytes: randomBytes(rng, rng.int(1, 256)) };
  }
}
