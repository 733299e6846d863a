/**
 * Two storeflow recommender replicas in one Kafka consumer group (GROUP_ID) on one PostgreSQL: they split the input
 * topics' partitions. One is SIGKILLed mid-run and its partitions move to the other within 20 s (KAFKA_SESSION_TIMEOUT
 * 10 s, heartbeats every 2 s), which decides every focus, the dead one's logged-but-undecided ones too; the killed one
 * is then restarted and rejoins. Then the broker itself is stopped and started again mid-run. Each time every focus is
 * decided exactly once, no coupon is offered twice in a visit, no input is lost, every logged prediction reached the
 * prediction topic, and one process replaying the log decides what the replicas decided.
 * (test runner timeout: 600 s: five replica starts take ~7 minutes on 2 cores shared with other work.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DATABASE_URL, waitFor, sleep } from './helpers.ts';
import { kafkaForTests, kafkaClient, type KafkaForTests, type KafkaAt } from './kafka-helpers.ts';
import { replicaGroup } from './kafka-replica-group.ts';

const broker: KafkaForTests = await kafkaForTests('kafka-replicas.test');
if ('skip' in broker) console.log(broker.skip);
const kafka = 'skip' in broker ? (undefined as unknown as KafkaAt) : kafkaClient(broker.bootstrap);
test.after(async () => {
  if (!('skip' in broker)) await broker.stop();
});
const it = 'skip' in broker || !DATABASE_URL ? test.skip : test;
if (!DATABASE_URL) console.log('kafka-replicas: skipped — the replicas share one PostgreSQL (DATABASE_URL; npm test provides one)');

it('two replicas in one group, one SIGKILLed: partitions move within 20 s, the survivor decides every focus once, no coupon twice, nothing lost; the killed one rejoins', async () => {
  const g = await replicaGroup('kr', kafka);
  try {
    await g.up();
    await g.enter();
    await g.focus(1, 1, 100);
    // replica 1 dies mid-run, with inputs in flight
    const exited = new Promise<NodeJS.Signals | null>((ok) => g.replicas[1].once('exit', (_code, signal) => ok(signal)));
    const killedAt = Date.now();
    g.replicas[1].kill('SIGKILL');
    assert.is(await exited, 'SIGKILL');
    await g.focus(1, 101, g.CUSTOMERS);
    await g.focus(2, 1, g.CUSTOMERS);
    const moved = await waitFor(() => g.joins.find((j) => j.at > killedAt && j.focusPartitions === 6), 25_000, "replica 0 takes the dead one's partitions");
    const moveMs = moved.at - killedAt;
    console.log(`kafka-replicas: partitions moved to the surviving replica ${(moveMs / 1000).toFixed(1)} s after the SIGKILL (KAFKA_SESSION_TIMEOUT 10 s)`);
    assert.ok(moveMs < 20_000, `partitions moved within 20 s (${moveMs} ms)`);
    // the survivor decides everything, also what the dead one logged and never decided (redelivered to it from the
    // partitions it took over: logged already, no decision in the log)
    await g.allDecided('a decision for every focus, by the surviving replica alone');
    const metrics = await (await fetch(`http://127.0.0.1:${g.ports[0]}/metrics`)).text();
    const orphans = /^storeflow_inputs_orphaned_total (\d+)/m.exec(metrics)?.[1] ?? '0';
    const resent = /^storeflow_outputs_resent_total (\d+)/m.exec(metrics)?.[1] ?? '0';
    console.log(`kafka-replicas: inputs the dead replica logged and never decided, decided by the survivor: ${orphans}`);
    console.log(`kafka-replicas: decided inputs read again by the survivor, their predictions published again: ${resent}`);
    // the killed replica comes back and rejoins; its recovery finds nothing left to decide
    g.start(1);
    await g.ready(1);
    await sleep(1000);
    await g.verify();
  } finally {
    await g.down();
  }
});

const restartable = 'skip' in broker || !broker.restart ? test.skip : it;
if (!('skip' in broker) && !broker.restart) console.log('kafka-replicas: the broker-restart test needs the local broker (BOOTSTRAP_SERVERS is set): skipped');

restartable('the broker stopped and started again mid-run: both replicas carry on, every focus decided once, no coupon twice, nothing lost', async () => {
  const g = await replicaGroup('kb', kafka);
  try {
    await g.up();
    await g.enter();
    await g.focus(1, 1, g.CUSTOMERS);
    // the broker goes away with the first round in flight, for 3 s, and comes back on its port and storage
    await (broker as { restart: (downMs: number) => Promise<void> }).restart(3000);
    await g.focus(2, 1, g.CUSTOMERS);
    await g.allDecided('a decision for every focus after the broker came back');
    await sleep(1000);
    await g.verify();
    // both replicas are still serving
    for (const i of [0, 1]) await g.ready(i);
  } finally {
    await g.down();
  }
});

test.run();
