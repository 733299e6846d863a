/**
 * The fuzzer's parts that decide what it finds, as pure functions: its inputs are the same for the
 * same seed and cover every kind; the nesting scan, the MQTT packet-size tracker and the gateway's
 * upgrade-target reader give the answers the fixes rely on. (`npm run fuzz` itself runs in CI.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createPrng } from '../actors/kernel/prng.ts';
import { hostileBody, pickKind, type Kind } from '../scripts/fuzz/inputs.ts';
import { hostileQuery, hostileSegment } from '../scripts/fuzz/inputs-url.ts';
import { hostileCell } from '../scripts/fuzz/inputs-csv.ts';
import { MAX_JSON_DEPTH, nestingBeyond } from '../adapters/process/json-body.ts';
import { PacketSizeTracker, remainingLength } from '../adapters/edges/mqtt-packet-guard.ts';
import { parseStreamTarget } from '../adapters/gateway/stream-target.ts';
import { Report } from '../scripts/fuzz/report.ts';
import type { Stats } from '../scripts/fuzz/run.ts';

const digest = (seed: string) => {
  const h = createHash('sha256');
  const rng = createPrng(seed);
  for (let i = 0; i < 2000; i++) {
    const r = rng.fork(i);
    h.update(hostileBody(r, { id: '1', ts: 1700000000, dep: 'Men' }, { limit: 65536, fields: ['id', 'ts', 'dep'] }).bytes);
    h.update(hostileSegment(r, ['abc']));
    h.update(hostileQuery(r, ['since']));
    h.update(hostileCell(r, 'real'));
  }
  return h.digest('hex');
};

test('the same seed generates the same inputs; another seed others', () => {
  assert.is(digest('7'), digest('7'));
  assert.is.not(digest('7'), digest('8'));
});

test('every kind of hostile body is generated, and each is what it says', () => {
  const rng = createPrng('kinds');
  const seen = new Map<Kind, number>();
  for (let i = 0; i < 5000; i++) {
    const k = pickKind(rng);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  assert.equal([...seen.keys()].sort(), [
    'bad-utf8',
    'deep-nesting',
    'huge-number',
    'huge-string',
    'lone-surrogate',
    'malformed-json',
    'nul',
    'oversized',
    'random-bytes',
    'unknown-ids',
    'valid',
    'wrong-types',
  ]);
  const o = { limit: 65536, fields: ['id', 'ts'] };
  const of = (kind: Kind, n = 50) => Array.from({ length: n }, (_, i) => hostileBody(createPrng(`${kind}/${i}`), { id: '1', ts: 1 }, o, kind).bytes);
  assert.ok(of('valid').every((b) => b.toString() === '{"id":"1","ts":1}'));
  assert.ok(of('oversized').every((b) => b.length > o.limit));
  assert.ok(of('deep-nesting').every((b) => nestingBeyond(b.toString(), MAX_JSON_DEPTH) >= 0));
  assert.ok(of('nul').every((b) => b.includes('\\u0000')));
  assert.ok(of('lone-surrogate').every((b) => /\\ud[89ab][0-9a-f]{2}|\\ud[c-f][0-9a-f]{2}/.test(b.toString())));
  assert.ok(
    of('bad-utf8').every((b) => !Buffer.from(b.toString('utf8')).equals(b)),
    'not valid UTF-8',
  );
  assert.ok(of('huge-string').every((b) => b.length > 1000 && b.length <= o.limit));
});

test('nesting: brackets in strings and escapes do not count; the limit is inclusive', () => {
  const at = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
  assert.equal(
    [nestingBeyond(at(32), 32), nestingBeyond(at(33), 32), nestingBeyond(`{"a":${at(31)}}`, 32), nestingBeyond(`{"a":${at(32)}}`, 32)],
    [-1, 32, -1, 36],
  );
  assert.is(nestingBeyond(JSON.stringify({ s: '[[[[{{{{\\"[[[['.repeat(100) }), 2), -1);
  assert.is(nestingBeyond('"unterminated [[[[', 1), -1);
});

test('MQTT packet sizes are followed across chunk boundaries', () => {
  const publish = (len: number) => {
    return Buffer.concat([Buffer.from([0x30, ...remainingLength(len)]), Buffer.alloc(len, 1)]);
  };
  const stream = Buffer.concat([publish(0), publish(127), publish(128), publish(1000), publish(16383), publish(16384), publish(100_000)]);
  // byte by byte and in one piece: only the last packet (100,000 + 4 header bytes) is above 50,000
  for (const size of [1, 7, 4096, stream.length]) {
    const t = new PacketSizeTracker(50_000);
    const found: number[] = [];
    for (let i = 0; i < stream.length; i += size) {
      const r = t.feed(stream.subarray(i, i + size));
      if (r >= 0) {
        found.push(r);
        break;
      }
    }
    assert.equal(found, [100_004], `chunks of ${size}`);
  }
  const within = new PacketSizeTracker(200_000);
  assert.is(within.feed(stream), -1);
  // a length of five continuation bytes is malformed: the broker's parser answers it, the tracker lets go
  const lost = new PacketSizeTracker(10);
  assert.is(lost.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0])), -1);
});

test('upgrade targets: ids decoded, malformed escapes and non-URLs are 400, other paths 404', () => {
  const show = (t: string) => {
    const r = parseStreamTarget(t);
    return r.ok ? { id: r.id, query: r.query.toString() } : { status: r.status };
  };
  assert.equal(
    [
      '/event-stream/abc',
      '/event-stream/a%2Fb/',
      '/event-stream/x?stream_from_ordinal=5',
      '/event-stream/%E0%A4%A',
      '/event-stream/x?a=%',
      '/event-stream/x?a=%zz',
      '/other',
      'http://[bad',
      '/event-stream/',
    ].map(show),
    [
      { id: 'abc', query: '' },
      { id: 'a/b', query: '' },
      { id: 'x', query: 'stream_from_ordinal=5' },
      { status: 400 },
      { status: 400 },
      { status: 400 },
      { status: 404 },
      { status: 400 },
      { status: 404 },
    ],
  );
});

test('the verdict: a path whose idle RSS is not back within 20 % fails the run, as crashes, 5xx and hangs do', () => {
  const path = (name: string, rssBefore: number, rssAfter: number, more: Partial<Stats> = {}): Stats => ({
    name,
    sent: 10,
    ok: 10,
    refused: 0,
    fivexx: 0,
    hangs: 0,
    resets: 0,
    crashes: 0,
    rssBefore,
    rssAfter,
    seconds: 1,
    examples: [],
    ...more,
  });
  const verdict = (results: Stats[]) => {
    let out = '';
    const failed = new Report(
      results.map((r) => r.name),
      (t) => (out += t),
    ).end(results, () => 1, { pathSeconds: 300, count: 10 });
    return { failed, verdict: out.trim().split('\n').at(-1)?.replace(/^.*: /, '') };
  };
  assert.equal(verdict([path('a', 100, 119), path('b', 119, 90)]), { failed: 0, verdict: 'PASS' });
  assert.equal(verdict([path('a', 100, 125), path('b', 125, 126)]), { failed: 1, verdict: 'FAIL' });
  assert.equal(verdict([path('a', 100, 100, { hangs: 2 })]), { failed: 2, verdict: 'FAIL' });
});

test.run();
