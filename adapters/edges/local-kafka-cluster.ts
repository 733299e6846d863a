/**
 * A local Apache Kafka cluster for development and tests (`npm run kafka -- --brokers 3`, test/kafka-cluster.test.ts):
 * N KRaft nodes, each broker and controller, on free loopback ports, one storage folder each under one data directory,
 * sharing a cluster id. Topics get three replicas and take a write once two have it (./local-kafka.ts's
 * serverProperties), so any one node may die without losing an acknowledged write or stopping the cluster.
 * Heaps are small (256 MB by default) so three nodes fit a 2-core machine shared with other work. Each node runs under
 * the same guard as the single broker: no java process outlives the process that started it.
 */
import { join, resolve } from 'node:path';
import { freePort } from './ports.ts';
import { clusterId, launchNode, prepareNode, resolveKafka, serverProperties, type KafkaNode, type LocalKafkaLog, type RunningNode } from './local-kafka.ts';

export interface ClusterNode extends KafkaNode {
  /** The node's java process now (another after `restart`). */
  pid: number;
  /** Whether its java process is running. */
  up: boolean;
}

export interface LocalKafkaCluster {
  /** `127.0.0.1:P1,127.0.0.1:P2,…`: what BOOTSTRAP_SERVERS takes. */
  bootstrapServers: string;
  nodes: ClusterNode[];
  /** Milliseconds from launching the nodes to the last one's "started". */
  startMs: number;
  /** SIGKILLs node `nodeId`'s java (no controlled shutdown); resolves once it has exited. */
  kill(nodeId: number): Promise<void>;
  /** Starts node `nodeId` again on its ports and storage; resolves once it serves clients. */
  restart(nodeId: number): Promise<void>;
  /** Controlled shutdown of every node that runs; resolves once every java has exited. */
  stop(): Promise<void>;
}

export interface LocalKafkaClusterOptions {
  /** STOREFLOW_HOME: the jars go to HOME/kafka/<version>. */
  home: string;
  /** One folder per node under it (node-1, node-2, …). */
  dataDir: string;
  brokers: number;
  /** Default partition count of topics the brokers create on their own. */
  partitions?: number;
  /** Java heap ceiling of each node (default 256m). */
  heap?: string;
  log?: LocalKafkaLog;
}

export async function startLocalKafkaCluster(o: LocalKafkaClusterOptions): Promise<LocalKafkaCluster> {
  const { libDir } = await resolveKafka(o.home, o.log);
  const heap = o.heap ?? '256m';
  const nodes: KafkaNode[] = [];
  for (let i = 1; i <= o.brokers; i++)
    nodes.push({ nodeId: i, port: await freePort(), controllerPort: await freePort(), dataDir: resolve(join(o.dataDir, `node-${i}`)) });
  const cluster = clusterId();
  const files = await Promise.all(nodes.map((n) => prepareNode(libDir, n.dataDir, serverProperties(n, nodes, o.partitions ?? 6), cluster)));
  const started = Date.now();
  const launched = await Promise.allSettled(files.map((f) => launchNode(f, heap, 120_000)));
  const running: (RunningNode | undefined)[] = launched.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  const stop = async () => {
    await Promise.all(running.map((r) => r?.stop()));
  };
  const failed = launched.find((r) => r.status === 'rejected');
  if (failed) {
    await stop();
    throw (failed as PromiseRejectedResult).reason;
  }
  const startMs = Date.now() - started;
  const view: ClusterNode[] = nodes.map((n, i) => ({
    ...n,
    get pid() {
      return running[i]?.pid ?? 0;
    },
    get up() {
      return running[i] !== undefined;
    },
  }));
  // a node that exits (killed, or it stopped) is down until restarted
  const watch = (i: number, r: RunningNode) =>
    void r.exited.then(() => {
      if (running[i] === r) running[i] = undefined;
    });
  for (const [i, r] of running.entries()) if (r) watch(i, r);
  o.log?.info({ brokers: nodes.map((n) => n.port), ms: startMs }, 'Kafka cluster started');
  const index = (nodeId: number) => {
    const i = nodes.findIndex((n) => n.nodeId === nodeId);
    if (i < 0) throw new Error(`no Kafka node ${nodeId}`);
    return i;
  };
  return {
    bootstrapServers: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    nodes: view,
    startMs,
    async kill(nodeId) {
      const r = running[index(nodeId)];
      if (!r) return;
      process.kill(r.pid, 'SIGKILL');
      await r.exited;
    },
    async restart(nodeId) {
      const i = index(nodeId);
      if (running[i]) return;
      const r = await launchNode(files[i], heap, 120_000);
      running[i] = r;
      watch(i, r);
    },
    stop,
  };
}
