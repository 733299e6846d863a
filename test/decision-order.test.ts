/**
 * Replay's view of a log that racing replicas wrote: a customer's focuses of one visit are replayed in the order
 * their decisions were logged; everything else keeps its place.
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { DecisionOrder } from '../adapters/engine/decision-order.ts';
import type { ExportedEvent } from '../actors/kernel/event-log.ts';

/** A log from a compact spelling: `f1:7` focus f1 of customer 7, `d1` its decision, `e:7` / `x:7` entry / exit. */
function log(spelled: string): ExportedEvent[] {
  return spelled.split(' ').map((word, i) => {
    const [name, customer] = word.split(':');
    const record = { position: i + 1, stream_id: 's', version: 0, recorded_at: '', data: { id: customer, ts: i } };
    if (name.startsWith('d')) return { ...record, type: 'prediction', metadata: { source: 'output', cause: `f${name.slice(1)}` }, message_id: `${name}:p` };
    const type = name === 'e' ? 'entry' : name === 'x' ? 'exit' : 'focus';
    return { ...record, type, metadata: { source: 'mqtt' }, message_id: name === 'e' || name === 'x' ? `${name}${i}` : name };
  });
}

function replayOrder(spelled: string, window = 100): string {
  const order = new DecisionOrder(window);
  const out = [...log(spelled).flatMap((e) => order.push(e)), ...order.end()];
  return out
    .map((e) =>
      e.type === 'focus'
        ? e.message_id
        : e.type === 'prediction'
          ? must(e.message_id, 'e.message_id').split(':')[0]
          : must(e.message_id, 'e.message_id').replace(/\d+$/, ''),
    )
    .join(' ');
}

test('one process: decisions in focus order, nothing moves', () => {
  assert.is(replayOrder('e:1 f1:1 f2:1 d1 f3:2 d2 d3'), 'e f1 f2 d1 f3 d2 d3');
});

test('two replicas raced: the focus whose decision was logged first is replayed first', () => {
  assert.is(replayOrder('e:1 f1:1 f2:1 d2 d1'), 'e f2 f1 d2 d1');
  // three focuses, decided last to first; another customer's events keep their places
  assert.is(replayOrder('e:1 f1:1 f4:2 f2:1 f3:1 d4 d3 d2 d1'), 'e f3 f2 f1 f4 d4 d3 d2 d1');
});

test('a focus never moves past its customer’s exit or entry', () => {
  assert.is(replayOrder('e:1 f1:1 x:1 e:1 f2:1 d2 d1'), 'e f1 x e f2 d2 d1');
});

test('a decision out of sight (a restart far on, or none): the focus goes after those decided in sight; two out of sight keep their order', () => {
  assert.is(replayOrder('e:1 f1:1 f2:1 d2', 100), 'e f2 f1 d2');
  assert.is(replayOrder('e:1 f1:1 f2:1 f3:1 d3 d2 d1', 1), 'e f1 f2 f3 d3 d2 d1');
  // a window of 2 sees d3 from f2, not d1 from f1
  assert.is(replayOrder('e:1 f1:1 f2:1 f3:1 d3 d2 d1', 2), 'e f1 f3 f2 d3 d2 d1');
});

test.run();
