/**
 * The contract of the snapshot port (actors/kernel/snapshot-store.ts), on every log that keeps snapshots: the
 * in-memory one and PostgreSQL alike (test/snapshot-contract.test.ts runs it on both).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { SnapshotStore, StateSnapshot } from '../actors/kernel/snapshot-store.ts';

/** A fresh store; `done` drops it. */
export type MakeSnapshots = () => Promise<{ store: SnapshotStore; done: () => Promise<void> }>;

const snap = (streamId: string, version: number, o: Partial<StateSnapshot> = {}): StateSnapshot => ({
  streamId,
  machine: 'session',
  machineVersion: 'abc.1',
  version,
  state: { value: 'ready', context: { lastTs: version, offered: [version], gone: undefined } },
  ...o,
});
const key = (s: StateSnapshot) => `${s.streamId} ${s.machine} ${s.machineVersion} v${s.version}`;
const sorted = (list: StateSnapshot[]) => list.map(key).sort();

export function snapshotContract(name: string, make: MakeSnapshots): void {
  const s = suite(`snapshot contract: ${name}`);
  let store: SnapshotStore, done: () => Promise<void>;
  s.before.each(async () => {
    ({ store, done } = await make());
  });
  s.after.each(async () => {
    await done();
  });

  s('a stream keeps its newest snapshot per machine and machine version; a slower writer never moves it back', async () => {
    await store.save([snap('customer-1', 3), snap('customer-2', 5)]);
    await store.save([snap('customer-1', 7), snap('customer-1', 6), snap('customer-1', 9, { machineVersion: 'def.1' })]);
    await store.save([snap('customer-1', 4), snap('customer-2', 5, { state: { changed: true } })]);
    await store.save([snap('customer-1', 2, { machine: 'focus-detector' })]);
    assert.equal(sorted(await store.read('session', ['customer-1', 'customer-2', 'customer-3'])), [
      'customer-1 session abc.1 v7',
      'customer-1 session def.1 v9',
      'customer-2 session abc.1 v5',
    ]);
    assert.equal(sorted(await store.read('focus-detector', ['customer-1'])), ['customer-1 focus-detector abc.1 v2']);
    assert.equal(await store.read('session', []), []);
  });

  s('the state read back is the JSON saved: a copy of its own, without undefined fields', async () => {
    await store.save([snap('customer-1', 3)]);
    const [first] = await store.read('session', ['customer-1']);
    assert.equal(first, {
      streamId: 'customer-1',
      machine: 'session',
      machineVersion: 'abc.1',
      version: 3,
      state: { value: 'ready', context: { lastTs: 3, offered: [3] } },
    });
    (first.state as { context: { offered: number[] } }).context.offered.push(4);
    const [again] = await store.read('session', ['customer-1']);
    assert.equal(again.state, { value: 'ready', context: { lastTs: 3, offered: [3] } });
  });

  s('many streams in one batch, read back in one', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => snap(`customer-${i}`, i + 1));
    await store.save(many);
    const read = await store.read(
      'session',
      many.map((m) => m.streamId),
    );
    assert.equal(sorted(read), sorted(many));
  });
  s.run();
}
