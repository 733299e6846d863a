/**
 * `npm run kafka`: a local Apache Kafka broker (single-node KRaft) for development, or with `--brokers 3` a cluster of
 * three (KRaft, replication factor 3, min.insync.replicas 2, 256 MB heaps). Resolves the pinned release with Maven
 * into STOREFLOW_HOME/kafka (once), formats the storage (once), starts it and prints BOOTSTRAP_SERVERS= with every
 * broker. Ctrl-C stops it (a controlled shutdown; no java process is left).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { KAFKA_VERSION, localKafkaUnavailable, resolveKafka, startLocalKafka } from '../adapters/edges/local-kafka.ts';
import { startLocalKafkaCluster } from '../adapters/edges/local-kafka-cluster.ts';
import { cli } from './cli.ts';

const args = cli({
  usage: 'npm run kafka -- [options]',
  summary: `Runs a local Apache Kafka ${KAFKA_VERSION} broker (KRaft, one node) from jars resolved with Maven into STOREFLOW_HOME/kafka, and prints BOOTSTRAP_SERVERS. Needs java (17+) and mvn.`,
  options: {
    port: { type: 'string', short: 'p', arg: 'PORT', help: 'client port (default: a free port; one broker only)' },
    brokers: { type: 'string', arg: 'N', help: 'brokers (default 1); more: a KRaft cluster on free ports, 3 replicas (or N), min.insync.replicas 2' },
    heap: { type: 'string', arg: 'SIZE', help: "each broker's Java heap ceiling (default 512m alone, 256m in a cluster)" },
    partitions: { type: 'string', arg: 'N', help: 'partitions of topics the broker creates itself (default 6)' },
    'data-dir': { type: 'string', arg: 'DIR', help: 'KRaft storage (default STOREFLOW_HOME/kafka/data, kept between runs)' },
    fresh: { type: 'boolean', help: 'delete the storage first (every topic and offset)' },
    'resolve-only': { type: 'boolean', help: 'resolve the jars (mvn) and exit: what CI runs before the tests' },
  },
  more: 'Then, in another terminal: BOOTSTRAP_SERVERS=127.0.0.1:PORT npm start',
});
const port = args.int('port', 0, { min: 0, max: 65535 });
const partitions = args.int('partitions', 6, { min: 1, max: 1000 });
const brokers = args.int('brokers', 1, { min: 1, max: 9 });
if (brokers > 1 && port) args.fail('--port: one broker only (a cluster takes free ports)');
const heap = args.values.heap;
if (heap !== undefined && !/^\d+[mg]$/.test(heap)) args.fail(`--heap: a size such as 256m, got ${JSON.stringify(heap)}`);
const home = process.env.STOREFLOW_HOME || '.storeflow';
const say = (obj: object, msg?: string) => console.error(`kafka: ${msg ?? ''} ${JSON.stringify(obj)}`);
const log = { info: say, warn: say };

const unavailable = localKafkaUnavailable();
if (unavailable) {
  console.error(`kafka: ${unavailable}. Debian: apt-get install openjdk-17-jre-headless maven`);
  process.exit(1);
}
if (args.values['resolve-only']) {
  const r = await resolveKafka(home, log);
  console.log(`Apache Kafka ${KAFKA_VERSION}: ${r.jars} jars in ${r.libDir}${r.ms ? ` (resolved in ${(r.ms / 1000).toFixed(1)} s)` : ' (already resolved)'}`);
  process.exit(0);
}
const dataDir = args.values['data-dir'] ?? join(home, 'kafka', 'data');
if (args.values.fresh) rmSync(dataDir, { recursive: true, force: true });
const t0 = Date.now();
const kafka =
  brokers > 1
    ? { ...(await startLocalKafkaCluster({ home, dataDir, brokers, partitions, heap, log })), dataDir }
    : await startLocalKafka({ home, dataDir, port, partitions, heap, log });
console.error(
  `kafka: Apache Kafka ${KAFKA_VERSION} ${brokers > 1 ? `cluster of ${brokers}` : 'broker'} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (start ${(kafka.startMs / 1000).toFixed(1)} s), storage ${kafka.dataDir}; Ctrl-C stops it`,
);
console.log(`BOOTSTRAP_SERVERS=${kafka.bootstrapServers}`);
// the broker is started with this process's pipe: stay alive until told to stop
const alive = setInterval(() => {}, 1 << 30);
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.error(`kafka: stopping the ${brokers > 1 ? 'brokers' : 'broker'} (controlled shutdown)…`);
    const t = Date.now();
    void kafka.stop().then(() => {
      console.error(`kafka: stopped in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      clearInterval(alive);
      process.exit(0);
    });
  });
