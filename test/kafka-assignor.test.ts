/**
 * storeflow's consumer-group assignor (adapters/edges/kafka-subscription.ts): partition p of every topic to one member,
 * so a customer's entries, focuses and exits (keyed by customer, same partition count) reach the same replica —
 * where the client's default round robin splits them once topics × partitions is not a multiple of the members.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { roundRobinAssigner, type ClusterMetadata, type ExtendedGroupProtocolSubscription } from '@platformatic/kafka';
import { copartitioned } from '../adapters/edges/kafka-subscription.ts';

const TOPICS = ['s.customer.enter', 's.customer.focus', 's.customer.exit'];

function metadata(partitions: number): ClusterMetadata {
  const topic = { id: '', partitions: [], partitionsCount: partitions, lastUpdate: 0 };
  return { id: '', brokers: new Map(), controllerId: 1, topics: new Map(TOPICS.map((t) => [t, topic])), lastUpdate: 0 };
}

function members(ids: string[], topics = TOPICS): Map<string, ExtendedGroupProtocolSubscription> {
  return new Map(ids.map((memberId) => [memberId, { memberId, version: 1, topics }]));
}

/** By member: its partitions of each topic. */
function byMember(assign: typeof copartitioned, ids: string[], partitions: number) {
  const out: Record<string, Record<string, number[]>> = {};
  for (const a of assign('', members(ids), new Set(TOPICS), metadata(partitions)))
    out[a.memberId] = Object.fromEntries([...a.assignments.values()].map((g) => [g.topic, g.partitions]));
  return out;
}

test('four members, three topics of six partitions: each member has the same partitions of every topic, all assigned once', () => {
  const got = byMember(copartitioned, ['m-d', 'm-a', 'm-c', 'm-b'], 6);
  const same = (ps: number[]) => Object.fromEntries(TOPICS.map((t) => [t, ps]));
  assert.equal(got, { 'm-a': same([0, 4]), 'm-b': same([1, 5]), 'm-c': same([2]), 'm-d': same([3]) });
  // the client's default does not keep a customer's topics together here
  const rr = byMember(roundRobinAssigner, ['m-a', 'm-b', 'm-c', 'm-d'], 6);
  assert.not.equal(rr['m-a']['s.customer.enter'], rr['m-a']['s.customer.focus']);
});

test('one member takes everything; a member subscribed to other topics gets none of these', () => {
  assert.equal(byMember(copartitioned, ['only'], 3), { only: Object.fromEntries(TOPICS.map((t) => [t, [0, 1, 2]])) });
  const mixed = new Map([...members(['r1', 'r2']), ['other', { memberId: 'other', version: 1, topics: ['s.customer.move'] }]]);
  const got = copartitioned('', mixed, new Set(TOPICS), metadata(2)).map((a) => [a.memberId, [...a.assignments.keys()].length]);
  assert.equal(got, [
    ['other', 0],
    ['r1', 3],
    ['r2', 3],
  ]);
});

test.run();
