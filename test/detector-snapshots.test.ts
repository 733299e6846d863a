/**
 * Snapshots of the detector (docs/snapshots.md): taken every so many inputs once their outputs are logged, restored by
 * recovery in place of the events before them; a snapshot of another machine version is ignored (the walk is made
 * from its events) and said so.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InMemoryEventLog } from '../actors/kernel/in-memory-event-log.ts';
import { DETECTOR_MACHINE, DetectorProcessor } from '../adapters/detector/processor.ts';
import { recoverWalks } from '../adapters/detector/recovery.ts';
import { SnapshotCadence } from '../adapters/engine/snapshot-cadence.ts';
import { machineVersion } from '../adapters/engine/machine-version.ts';
import { FOCUS_DETECTOR_CODE_VERSION } from '../machines/focus-detector.ts';
import { centreOf } from '../actors/data/store-plan.ts';
import { loggedInputId } from '../adapters/process/processor-contract.ts';
import { toFlat, type StoreEvent } from '../schemas/events.ts';
import type { Department } from '../schemas/departments.ts';
import { engineOver, recoverThroughEngine } from './helpers.ts';

const TS = 1748736000;
const IDLE_S = 7200;
const settings = { focusMinMoves: 3, browsingMinMoves: 6, idleTimeoutS: IDLE_S };
const topics = { focus: 'f', browsing: 'b' };
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));
const DEPS: Department[] = ['Men', 'Women', 'Boys', 'Girls', 'Sport'];

/** A shopper walking for three hours of event time, a move a minute, five moves in each department in turn; logged as live. */
async function threeHourWalk(log: InMemoryEventLog, live: DetectorProcessor, cadence: SnapshotCadence) {
  // the cadence told once an input's outputs are logged, as the detector's wiring tells it (adapters/detector/index.ts)
  const engine = engineOver(log, live, (outputs, input) => cadence.logged(loggedInputId(input.logged), outputs.length));
  const input = async (e: StoreEvent) => {
    const [logged] = await log.append([
      { streamId: `customer-${e.id}`, type: e.kind, data: toFlat(e), messageId: `${e.id}@${e.ts}`, metadata: { source: 'mqtt' } },
    ]);
    await engine.run({ logged, event: e });
  };
  await input({ kind: 'entry', id: '1', ts: TS });
  for (let i = 1; i <= 180; i++) await input({ kind: 'move', id: '1', ts: TS + 60 * i, ...centreOf(DEPS[Math.floor(i / 5) % DEPS.length]) });
  // another customer keeps the log's time at the walk's
  await input({ kind: 'entry', id: '2', ts: TS + 60 * 180 });
  await cadence.flush();
}

test('the machine version: the hash of the machine JSON and the code version', () => {
  assert.match(DETECTOR_MACHINE.version, /^[0-9a-f]{16}\.1$/);
  assert.equal(DETECTOR_MACHINE, machineVersion('focus-detector', FOCUS_DETECTOR_CODE_VERSION));
  assert.is.not(machineVersion('focus-detector', FOCUS_DETECTOR_CODE_VERSION + 1).version, DETECTOR_MACHINE.version);
  assert.is.not(machineVersion('session', FOCUS_DETECTOR_CODE_VERSION).version.split('.')[0], DETECTOR_MACHINE.version.split('.')[0]);
});

test('a three-hour walk: recovery starts at its newest snapshot and reads only what follows; the walk is the one lived', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const cadence = new SnapshotCadence({ store: log.snapshots, machine: DETECTOR_MACHINE, every: 32 });
  const live = new DetectorProcessor({ settings, topics, snapshots: cadence });
  await threeHourWalk(log, live, cadence);
  const [kept] = await log.snapshots.read('focus-detector', ['customer-1']);
  // every 32 inputs: the 160th input, the 159th move (version: its place in the stream, focuses and all), is the newest
  assert.is(kept.machineVersion, DETECTOR_MACHINE.version);
  const stream = await log.readStream('customer-1');
  const moves = stream.filter((e) => e.type === 'move');
  assert.is(kept.version, moves[158].version);
  const recovered = new DetectorProcessor({ settings, topics });
  const r = await recoverWalks(log, recovered, { idleTimeoutS: IDLE_S });
  assert.equal([r.restored, r.ignored], [1, 0]);
  // the 21 moves after the snapshot (and 2's entry), not the 181 inputs of the visit
  assert.equal(
    r.inputs.map((i) => `${i.event.id}:${i.event.kind}`),
    [...Array.from({ length: 21 }, () => '1:move'), '2:entry'],
  );
  assert.equal(await recoverThroughEngine(log, recovered, r), [], 'what it makes again is what the log holds: nothing appended');
  assert.equal(recovered.walkOf('1'), live.walkOf('1'));
  assert.equal(recovered.shoppers.get('1')?.getSnapshot().value, live.shoppers.get('1')?.getSnapshot().value);
  // (as JSON: a field undefined and one absent are the same state)
  assert.equal(asJson(recovered.shoppers.get('1')?.getSnapshot().context), asJson(live.shoppers.get('1')?.getSnapshot().context));
});

test('a snapshot of another machine version is ignored: the walk is made from the visit’s events', async () => {
  const log = new InMemoryEventLog(() => Date.now());
  const cadence = new SnapshotCadence({ store: log.snapshots, machine: DETECTOR_MACHINE, every: 32 });
  const live = new DetectorProcessor({ settings, topics, snapshots: cadence });
  await threeHourWalk(log, live, cadence);
  // a snapshot whose state says what the events do not: used, it shows
  const [kept] = await log.snapshots.read('focus-detector', ['customer-1']);
  const state = kept.state as { walk: { moves: number } };
  await log.snapshots.save([{ ...kept, version: kept.version + 1, state: { ...state, walk: { ...state.walk, moves: 999 } } }]);
  const used = new DetectorProcessor({ settings, topics });
  await recoverWalks(log, used, { idleTimeoutS: IDLE_S });
  assert.is(used.walkOf('1')?.moves, 999, 'the snapshot of the machine version in force is used');

  // the detector's code changed (its code version raised): the same snapshot is of another version
  const changed = { machine: 'focus-detector', version: machineVersion('focus-detector', FOCUS_DETECTOR_CODE_VERSION + 1).version };
  const rebuilt = new DetectorProcessor({ settings, topics });
  const r = await recoverWalks(log, rebuilt, { idleTimeoutS: IDLE_S, machine: changed });
  assert.equal([r.restored, r.ignored], [0, 1]);
  assert.is(r.inputs.length, 182, 'the visit from its entry: 1 entry, 180 moves, and 2 entry');
  assert.equal(await recoverThroughEngine(log, rebuilt, r), []);
  assert.equal(rebuilt.walkOf('1'), live.walkOf('1'));
  assert.equal(rebuilt.shoppers.get('1')?.getSnapshot().context, live.shoppers.get('1')?.getSnapshot().context);
});

test.run();
