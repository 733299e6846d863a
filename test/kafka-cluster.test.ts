/**
 * storeflow on a real Kafka cluster: three KRaft brokers (npm run kafka -- --brokers 3's module: replication factor 3,
 * min.insync.replicas 2, 256 MB heaps) and two recommender replicas in one group on one PostgreSQL. Focus events go in
 * without a pause (50 every ~0.8 s, ~60/s, through an idempotent producer: one replica alone must take them and catch
 * up, else resuming measures this machine's throughput, not the failover); the broker leading the focus topic's
 * partition 0 is SIGKILLed, later one replica is. Each time processing resumes within 30 s — every focus of the first
 * batch sent after the kill is decided by then — and at the end nothing is lost, nothing decided twice, no coupon
 * offered twice in a visit, the replay decides the same (replicas-verdict.ts) and every prediction was published.
 * Every java and storeflow process the test started is stopped.
 * (test runner timeout: 900 s: three brokers and two replicas start slowly on 2 cores shared with other work.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { localKafkaUnavailable } from '../adapters/edges/local-kafka.ts';
import { startLocalKafkaCluster, type LocalKafkaCluster } from '../adapters/edges/local-kafka-cluster.ts';
import { kafkaTopic } from '../adapters/edges/kafka.ts';
import { DATABASE_URL, waitFor, sleep } from './helpers.ts';
import { kafkaClient, kafkaProducer } from './kafka-helpers.ts';
import { replicaGroup } from './kafka-replica-group.ts';

const HOME = process.env.STOREFLOW_HOME || resolve(import.meta.dirname, '..', '.storeflow');
const missing = localKafkaUnavailable();
if (missing && process.env.CI === 'true') throw new Error(`kafka-cluster.test: ${missing}; CI must run the Kafka tests`);
if (missing) console.log(`kafka-cluster.test: ${missing}: skipped`);
if (!DATABASE_URL) console.log('kafka-cluster.test: skipped — the replicas share one PostgreSQL (DATABASE_URL; npm test provides one)');
// three JVMs and two replicas take ~3 min on 2 cores: run on demand (docs/kafka-cluster.md)
const wanted = process.env.KAFKA_CLUSTER_TEST === '1';
if (!wanted) console.log('kafka-cluster.test: skipped — run with KAFKA_CLUSTER_TEST=1 (three brokers and two replicas, ~3 min: docs/kafka-cluster.md)');
const it = missing || !DATABASE_URL || !wanted ? test.skip : test;

let cluster: LocalKafkaCluster | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'storeflow-test-kafka-cluster-'));
test.after(async () => {
  await cluster?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('three brokers, focus events without a pause: a broker SIGKILLed, then a replica; each time processing resumes within 30 s; nothing lost, nothing decided twice, no coupon twice', async () => {
  const t0 = Date.now();
  cluster = await startLocalKafkaCluster({ home: HOME, dataDir, brokers: 3, heap: '256m', partitions: 6 });
  console.log(`kafka-cluster: three brokers started in ${(cluster.startMs / 1000).toFixed(1)} s (${cluster.bootstrapServers})`);
  const kafka = kafkaClient(cluster.bootstrapServers);
  const g = await replicaGroup('kc', kafka);
  const producer = kafkaProducer(kafka);
  const BATCH = 50;
  /** When each batch's send began, by batch number (its focuses are at TS + batch). */
  const began = new Map<number, number>();
  let loading = true;
  let load: Promise<void> | undefined;
  let loadFailed: Error | undefined;
  try {
    await g.up();
    console.log(`kafka-cluster: two replicas in the group ${((Date.now() - t0) / 1000).toFixed(1)} s after the start`);
    // the focus topic is on three brokers, two of which must have every write
    const admin = new Admin({ clientId: 'storeflow-test', bootstrapBrokers: kafka.brokers });
    const focusTopic = kafkaTopic(g.topics.focus);
    const meta = await admin.metadata({ topics: [focusTopic], forceUpdate: true });
    await admin.close();
    const partitions = meta.topics.get(focusTopic)?.partitions ?? [];
    assert.equal(
      partitions.map((p) => p.replicas.length),
      [3, 3, 3, 3, 3, 3],
      'six partitions of three replicas',
    );
    await g.enter();
    load = (async () => {
      for (let b = 1; loading; b++) {
        const from = ((b - 1) % (g.CUSTOMERS / BATCH)) * BATCH + 1;
        began.set(b, Date.now());
        await g.focus(b, from, from + BATCH - 1, producer);
        await sleep(800);
      }
    })().catch((err) => {
      loadFailed = err;
    });
    /** Milliseconds from `at` until every focus of the first batch sent after it is decided. */
    const resumed = async (what: string) => {
      const at = Date.now();
      // where it stands every 3 s (shown when the test fails): a send stuck, or decisions that do not come
      const progress = setInterval(async () => {
        const last = Math.max(...began.keys());
        const decided = await g.decided().catch(() => -1);
        console.log(
          `kafka-cluster: ${((Date.now() - at) / 1000).toFixed(0)} s after ${what}: batch ${last} begun, ${await g.decidedAt(last).catch(() => -1)} of it decided, ${decided} decisions in all`,
        );
      }, 3000);
      try {
        const first = await waitFor(() => [...began].find(([, t]) => t >= at)?.[0], 60_000, `a batch sent after ${what}`);
        await waitFor(async () => (await g.decidedAt(first)) >= BATCH, 60_000, `the first batch after ${what} decided`);
        return Date.now() - at;
      } finally {
        clearInterval(progress);
      }
    };
    await sleep(5000);
    // 1. the broker leading the focus topic's partition 0 dies
    const victim = partitions[0].leader;
    const killedPid = cluster.nodes.find((n) => n.nodeId === victim)?.pid ?? 0;
    await cluster.kill(victim);
    const brokerMs = await resumed(`broker ${victim}'s SIGKILL`);
    console.log(`kafka-cluster: broker ${victim} SIGKILLed; processing resumed (a batch sent after it all decided) in ${(brokerMs / 1000).toFixed(1)} s`);
    assert.ok(!alive(killedPid), 'the broker is gone');
    assert.ok(brokerMs < 30_000, `processing resumed within 30 s of the broker's death (${brokerMs} ms)`);
    await sleep(10_000);
    // 2. one replica dies: its partitions move to the other once its session times out (KAFKA_SESSION_TIMEOUT 10 s)
    const exited = new Promise<NodeJS.Signals | null>((ok) => g.replicas[1].once('exit', (_code, signal) => ok(signal)));
    g.replicas[1].kill('SIGKILL');
    assert.is(await exited, 'SIGKILL');
    const replicaMs = await resumed("replica 1's SIGKILL");
    console.log(`kafka-cluster: replica 1 SIGKILLed; processing resumed in ${(replicaMs / 1000).toFixed(1)} s`);
    assert.ok(replicaMs < 30_000, `processing resumed within 30 s of the replica's death (${replicaMs} ms)`);
    await sleep(5000);
    loading = false;
    await load;
    assert.is(loadFailed, undefined, 'every focus sent');
    // not all decided: the verdict names what is missing (not logged, or logged and not decided)
    await g.allDecided('a decision for every focus').catch(async (err) => {
      console.log(`kafka-cluster: ${await g.decided()} decisions of ${g.sent.focus.length} focus events sent`);
      await g.verify();
      throw err;
    });
    await sleep(1000);
    console.log(`kafka-cluster: ${g.sent.focus.length} focus events sent in ${began.size} batches, every one decided once`);
    const metrics = await (await fetch(`http://127.0.0.1:${g.ports[0]}/metrics`)).text();
    const count = (name: string) => new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? '0';
    console.log(
      `kafka-cluster: replica 0 decided ${count('storeflow_inputs_orphaned_total')} focus events replica 1 logged and never decided, and published again ${count('storeflow_outputs_resent_total')} predictions of inputs read again`,
    );
    await g.verify();
  } finally {
    loading = false;
    await load;
    await producer.close().catch(() => {});
    await g.down();
    const pids = cluster.nodes.map((n) => n.pid).filter(Boolean);
    await cluster.stop();
    assert.equal(pids.filter(alive), [], 'no java process left');
  }
});

test.run();
