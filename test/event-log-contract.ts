/**
 * The contract of the event-log port (actors/kernel/event-log.ts): what every log honours, the in-memory one and
 * PostgreSQL alike — append (positions, versions, duplicates by message id, expected-version conflicts), readStream,
 * read and pages from a position, subscribe — and the roles' queries over it (test/log-queries-contract.ts).
 * test/event-log-contract.test.ts runs it on both logs.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { EventLog } from '../actors/kernel/event-log.ts';
import { logQueriesContract } from './log-queries-contract.ts';

/** A fresh, empty log; `other` a second writer on the same log (another replica); `done` closes and drops both. */
export type MakeLog = () => Promise<{ log: EventLog; other: () => EventLog; done: () => Promise<void> }>;

export function eventLogContract(name: string, make: MakeLog): void {
  const s = suite(`event log contract: ${name}`);
  let log: EventLog, other: () => EventLog, done: () => Promise<void>;
  s.before.each(async () => {
    ({ log, other, done } = await make());
  });
  s.after.each(async () => {
    await done();
  });

  s('append assigns increasing positions and per-stream versions', async () => {
    const out = await log.append([
      { streamId: 'customer-1', type: 'entry', data: { id: '1', ts: 10 } },
      { streamId: 'customer-2', type: 'entry', data: { id: '2', ts: 11 } },
      { streamId: 'customer-1', type: 'focus', data: { id: '1', ts: 12, dep: 'Men' }, messageId: 'm-1' },
    ]);
    assert.equal(
      out.map((e) => [e.streamId, e.version]),
      [
        ['customer-1', 1],
        ['customer-2', 1],
        ['customer-1', 2],
      ],
    );
    assert.ok(out[0].position < out[1].position && out[1].position < out[2].position);
    const more = await log.append([{ streamId: 'customer-1', type: 'exit', data: { id: '1', ts: 13 } }]);
    assert.is(more[0].version, 3);
    assert.is(await log.head(), more[0].position);
  });

  s('a writer reads its own writes: a stream read asked for while its append is still being committed sees it', async () => {
    await log.append([{ streamId: 'customer-7', type: 'entry', data: { id: '7', ts: 1 } }]);
    // a decision this writer appends, then at once a rebuild of the customer reading the stream (engine/replica.ts)
    const appending = log.append([{ streamId: 'customer-7', type: 'focus', data: { id: '7', ts: 2, dep: 'Men' }, messageId: 'f-7' }]);
    const read = await log.readStream('customer-7');
    assert.equal(
      read.map((e) => [e.version, e.type]),
      [
        [1, 'entry'],
        [2, 'focus'],
      ],
    );
    assert.is((await appending)[0].version, 2);
  });

  s('an id is logged once: a second append of it (later, or in the same batch, or by another writer) writes nothing and returns the logged copy', async () => {
    const [first] = await log.append([{ streamId: 'customer-1', type: 'focus', data: { n: 1 }, messageId: 'in-1' }]);
    const again = await log.append([
      { streamId: 'customer-1', type: 'focus', data: { n: 2 }, messageId: 'in-1' },
      { streamId: 'customer-1', type: 'exit', data: { n: 3 }, messageId: 'in-2' },
      { streamId: 'customer-1', type: 'exit', data: { n: 4 }, messageId: 'in-2' },
      { streamId: 'customer-1', type: 'move', data: { n: 5 } },
    ]);
    assert.equal(
      again.map((e) => [e.skipped ?? 'written', e.version, e.data]),
      [
        ['duplicate', 1, { n: 1 }],
        ['written', 2, { n: 3 }],
        ['duplicate', 2, { n: 3 }],
        ['written', 3, { n: 5 }],
      ],
    );
    assert.is(again[0].position, first.position);
    const [byOther] = await other().append([{ streamId: 'customer-9', type: 'prediction', data: {}, messageId: 'in-2' }]);
    assert.is(byOther.skipped, 'duplicate');
    assert.is(byOther.streamId, 'customer-1');
    assert.equal(
      (await log.read()).map((e) => [e.streamId, e.version, e.messageId ?? null]),
      [
        ['customer-1', 1, 'in-1'],
        ['customer-1', 2, 'in-2'],
        ['customer-1', 3, null],
      ],
    );
  });

  s('expected version: an append behind another writer is a conflict; behind only its own appends it goes through', async () => {
    const [entry] = await log.append([{ streamId: 'customer-1', type: 'entry', data: {}, messageId: 'e' }]);
    // this writer's own later input does not make its decision stale
    await log.append([{ streamId: 'customer-1', type: 'focus', data: {}, messageId: 'f1' }]);
    const [mine] = await log.append([{ streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'f1:prediction', expectedVersion: entry.version }]);
    assert.equal([mine.skipped, mine.version], [undefined, 3]);
    // another writer appends: an expectation that has not seen it is refused, with nothing written
    const [theirs] = await other().append([{ streamId: 'customer-1', type: 'focus', data: {}, messageId: 'f2' }]);
    assert.is(theirs.version, 4);
    const stale = await log.append([
      { streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'f3:prediction', expectedVersion: 3 },
      { streamId: 'customer-2', type: 'entry', data: {}, messageId: 'e2' },
    ]);
    assert.equal(
      stale.map((e) => [e.skipped ?? 'written', e.version]),
      [
        ['conflict', 0],
        ['written', 1],
      ],
    );
    // having read the stream up to the other writer's event, the same append goes through
    const seen = await log.readStream('customer-1', 3);
    assert.equal(
      seen.map((e) => [e.version, e.messageId]),
      [[4, 'f2']],
    );
    const [retried] = await log.append([{ streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'f3:prediction', expectedVersion: 4 }]);
    assert.equal([retried.skipped, retried.version], [undefined, 5]);
    assert.equal(
      (await log.readStream('customer-1')).map((e) => e.messageId),
      ['e', 'f1', 'f1:prediction', 'f2', 'f3:prediction'],
    );
  });

  s('a unit is written whole or refused whole; units appended together are each decided alone', async () => {
    await log.append([{ streamId: 'customer-1', type: 'entry', data: {}, messageId: 'e1' }]);
    await other().append([{ streamId: 'customer-2', type: 'focus', data: {}, messageId: 'f2' }]);
    await log.append([{ streamId: 'customer-3', type: 'entry', data: {}, messageId: 'e3' }]);
    // three units at once (PostgreSQL: the first commits alone, the other two share a group commit): one behind
    // another writer's event; a fresh one; one whose input another process logged already
    const [stale, fresh, copy] = await Promise.all([
      log.append(
        [
          { streamId: 'customer-2', type: 'focus', data: {}, messageId: 'f2b' },
          { streamId: 'customer-2', type: 'prediction', data: {}, messageId: 'f2b:prediction', expectedVersion: 0 },
        ],
        { unit: true },
      ),
      log.append(
        [
          { streamId: 'customer-1', type: 'focus', data: {}, messageId: 'f1' },
          { streamId: 'customer-1', type: 'prediction', data: {}, messageId: 'f1:prediction', expectedVersion: 1 },
        ],
        { unit: true },
      ),
      log.append(
        [
          { streamId: 'customer-2', type: 'focus', data: {}, messageId: 'f2' },
          { streamId: 'customer-2', type: 'prediction', data: {}, messageId: 'f2:prediction', expectedVersion: 1 },
        ],
        { unit: true },
      ),
    ]);
    const summary = (es: { skipped?: string; version: number }[]) => es.map((e) => [e.skipped ?? 'written', e.version]);
    assert.equal(summary(fresh), [
      ['written', 2],
      ['written', 3],
    ]);
    assert.equal(summary(stale), [
      ['conflict', 0],
      ['conflict', 0],
    ]);
    assert.equal(summary(copy), [
      ['duplicate', 1],
      ['conflict', 0],
    ]);
    assert.equal(
      (await log.read()).map((e) => e.messageId),
      ['e1', 'f2', 'e3', 'f1', 'f1:prediction'],
    );
  });

  s('read by range, stream and type returns what was appended, in order', async () => {
    const out = await log.append(
      Array.from({ length: 10 }, (_, i) => ({ streamId: `customer-${i % 3}`, type: i % 2 ? 'move' : 'entry', data: { i }, metadata: { source: 'test' } })),
    );
    const all = await log.read();
    assert.equal(
      all.map((e) => e.data),
      out.map((e) => e.data),
    );
    assert.equal(all[0].metadata, { source: 'test' });
    assert.equal(
      (await log.read({ fromPosition: out[3].position, toPosition: out[5].position })).map((e) => (e.data as { i: number }).i),
      [3, 4, 5],
    );
    assert.equal(
      (await log.read({ streamId: 'customer-1' })).map((e) => (e.data as { i: number }).i),
      [1, 4, 7],
    );
    assert.equal(
      (await log.read({ types: ['move'] })).map((e) => (e.data as { i: number }).i),
      [1, 3, 5, 7, 9],
    );
    assert.equal(
      (await log.read({ fromPosition: out[8].position, limit: 1 })).map((e) => (e.data as { i: number }).i),
      [8],
    );
  });

  s('concurrent appends are all durable, versions gap-free per stream', async () => {
    const batches = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append([{ streamId: 'customer-9', type: 'move', data: { i } }])));
    const versions = batches.map((b) => b[0].version).sort((a, b) => a - b);
    assert.equal(
      versions,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.is((await log.read({ streamId: 'customer-9' })).length, 50);
  });

  s('subscribers see every appended batch once', async () => {
    const seen: number[] = [];
    const off = log.subscribe((events) => seen.push(...events.map((e) => e.position)));
    const a = await log.append([
      { streamId: 's', type: 't', data: 1 },
      { streamId: 's', type: 't', data: 2 },
    ]);
    off();
    await log.append([{ streamId: 's', type: 't', data: 3 }]);
    assert.equal(
      seen,
      a.map((e) => e.position),
    );
  });

  s('pages walk a range or a stream in position order', async () => {
    const out = await log.append(Array.from({ length: 7 }, (_, i) => ({ streamId: `customer-${i % 2}`, type: 'move', data: { i } })));
    const pages: number[][] = [];
    for await (const page of log.pages({ fromPosition: out[1].position, pageSize: 2 })) pages.push(page.map((e) => (e.data as { i: number }).i));
    assert.equal(pages, [
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const odd: number[] = [];
    for await (const page of log.pages({ streamId: 'customer-1', pageSize: 10 })) odd.push(...page.map((e) => (e.data as { i: number }).i));
    assert.equal(odd, [1, 3, 5]);
  });

  s('a subscriber hears the appends of its own writer only, as a PostgreSQL log hears its own process', async () => {
    const seen: number[] = [];
    const off = log.subscribe((events) => seen.push(...events.map((e) => e.position)));
    await other().append([{ streamId: 's', type: 't', data: 1 }]);
    const [mine] = await log.append([{ streamId: 's', type: 't', data: 2 }]);
    off();
    assert.equal(seen, [mine.position]);
  });

  s('what is read back is the JSON logged: a copy of its own, without undefined fields', async () => {
    await log.append([{ streamId: 's', type: 't', data: { a: 1, gone: undefined, list: [1, 2] }, metadata: { source: 'test' } }]);
    const [first] = await log.read();
    assert.equal(first.data, { a: 1, list: [1, 2] });
    assert.ok(!('gone' in (first.data as object)));
    (first.data as { list: number[] }).list.push(3);
    first.metadata.source = 'changed';
    const [again] = await log.readStream('s');
    assert.equal([again.data, again.metadata], [{ a: 1, list: [1, 2] }, { source: 'test' }]);
  });
  s.run();

  logQueriesContract(name, make);
}
