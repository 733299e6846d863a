/**
 * A real Apache Kafka broker for development and tests (`npm run kafka`, test/kafka*.test.ts), with no
 * Docker: the broker's jars are resolved from Maven Central by `mvn` into STOREFLOW_HOME/kafka/<version>
 * (once; reused), a single-node KRaft storage is formatted, and `java` runs the broker (combined broker
 * and controller) from that class path.
 *
 * The broker runs under a small bash guard that holds a pipe from this process: when this process ends
 * however it ends (Ctrl-C, a crash, SIGKILL), the pipe closes and the guard stops the broker, so no java
 * process outlives storeflow.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from './ports.ts';

/** The pinned broker release (Maven artifact org.apache.kafka:kafka_2.13). */
export const KAFKA_VERSION = '4.1.1';
/** log4j2's binding for the broker's slf4j 1.7 API: without it the broker logs nothing at all. */
const LOG4J_VERSION = '2.24.3';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

export interface LocalKafkaLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface LocalKafka {
  /** `127.0.0.1:PORT`, what BOOTSTRAP_SERVERS takes. */
  bootstrapServers: string;
  port: number;
  dataDir: string;
  /** The java process. */
  pid: number;
  /** Milliseconds from launching java to the broker's "started". */
  startMs: number;
  /** Controlled shutdown (SIGTERM), then SIGKILL after `timeoutMs`. Resolves once java has exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Why the local broker cannot run here (no java or no mvn on PATH), or undefined when it can. */
export function localKafkaUnavailable(): string | undefined {
  const missing = ['java', 'mvn'].filter((cmd) => spawnSync(cmd, ['-version'], { stdio: 'ignore' }).error);
  return missing.length ? `${missing.join(' and ')} not found on PATH (Apache Kafka runs on Java 17+, its jars are resolved with Maven)` : undefined;
}

/** The folder holding the resolved jars of the pinned release, resolving them first when absent. `ms` is 0 when they were there. */
export async function resolveKafka(home: string, log?: LocalKafkaLog): Promise<{ libDir: string; ms: number; jars: number }> {
  const root = resolve(home, 'kafka', KAFKA_VERSION);
  const libDir = join(root, 'lib');
  const marker = join(libDir, '.resolved');
  if (existsSync(marker)) return { libDir, ms: 0, jars: readdirSync(libDir).filter((f) => f.endsWith('.jar')).length };
  const started = Date.now();
  mkdirSync(root, { recursive: true });
  const pom = join(root, 'pom.xml');
  writeFileSync(
    pom,
    `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>storeflow.local</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
`,
  );
  // into a folder of its own, renamed when complete: an interrupted resolution is never taken for a finished one
  const partial = join(root, `lib.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  log?.info({ version: KAFKA_VERSION, into: libDir }, 'resolving Apache Kafka with Maven (once)');
  const out = await run('mvn', ['-B', '-q', '-f', pom, `${DEPENDENCY_PLUGIN}:copy-dependencies`, '-DincludeScope=runtime', `-DoutputDirectory=${partial}`]);
  if (out.code !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`mvn could not resolve org.apache.kafka:kafka_2.13:${KAFKA_VERSION} (exit ${out.code}):\n${out.text.slice(-3000)}`);
  }
  const jars = readdirSync(partial).filter((f) => f.endsWith('.jar'));
  writeFileSync(join(partial, '.resolved'), `${jars.join('\n')}\n`);
  rmSync(libDir, { recursive: true, force: true });
  renameSync(partial, libDir);
  const ms = Date.now() - started;
  log?.info({ version: KAFKA_VERSION, jars: jars.length, ms }, 'Apache Kafka resolved');
  return { libDir, ms, jars: jars.length };
}

export interface LocalKafkaOptions {
  /** STOREFLOW_HOME: the jars go to HOME/kafka/<version>. */
  home: string;
  /** KRaft storage and the broker's log; default HOME/kafka/data (kept between runs). */
  dataDir?: string;
  /** Client port; 0 or unset = a free port. */
  port?: number;
  /** Default partition count of topics the broker creates on its own. */
  partitions?: number;
  /** Java heap ceiling (default 512m). */
  heap?: string;
  log?: LocalKafkaLog;
}

/** One node of a KRaft cluster: broker and controller, listening on loopback only. */
export interface KafkaNode {
  nodeId: number;
  port: number;
  controllerPort: number;
  dataDir: string;
}

/**
 * A node's configuration: broker and controller in one process, listening on loopback only, with a static controller
 * quorum (so the ports may change from one start to the next over the same storage). One node: every internal topic
 * at replication factor 1. Several: every topic (internal ones too) on three replicas, or as many nodes as there are,
 * and a write taken once min.insync.replicas (2 of 3) have it, so one node may die without losing an acknowledged write.
 */
export function serverProperties(node: KafkaNode, nodes: KafkaNode[], partitions: number): string {
  const replicas = Math.min(3, nodes.length);
  const minIsr = Math.max(1, replicas - 1);
  return `${[
    'process.roles=broker,controller',
    `node.id=${node.nodeId}`,
    `controller.quorum.voters=${nodes.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(',')}`,
    `listeners=PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${join(node.dataDir, 'logs')}`,
    `num.partitions=${partitions}`,
    `default.replication.factor=${replicas}`,
    `min.insync.replicas=${minIsr}`,
    `offsets.topic.replication.factor=${replicas}`,
    'offsets.topic.num.partitions=6',
    `transaction.state.log.replication.factor=${replicas}`,
    `transaction.state.log.min.isr=${minIsr}`,
    `share.coordinator.state.topic.replication.factor=${replicas}`,
    `share.coordinator.state.topic.min.isr=${minIsr}`,
    // a group's first members are assigned at once (the default waits 3 s for more to join)
    'group.initial.rebalance.delay.ms=0',
    // a replica's heartbeats may be as tight as 2 s session timeouts (tests of a killed replica)
    'group.min.session.timeout.ms=2000',
    'auto.create.topics.enable=true',
    // on 2 shared cores a busy JVM may miss a beat: a broker is fenced after 12 s without heartbeats (9 s by default),
    // and a controller election waits 2 s (1 s) — a SIGKILLed node's partitions still move within ~15 s
    'broker.session.timeout.ms=12000',
    'broker.heartbeat.interval.ms=2000',
    'controller.quorum.election.timeout.ms=2000',
    'controller.quorum.fetch.timeout.ms=4000',
    // few threads: 2 cores do not need the defaults' 8 I/O and 3 network threads per node
    'num.io.threads=2',
    'num.network.threads=2',
    'num.recovery.threads.per.data.dir=1',
    'background.threads=2',
  ].join('\n')}\n`;
}

const LOG4J2 = (file: string) => `rootLogger.level=WARN
rootLogger.appenderRef.file.ref=FILE
appender.file.type=File
appender.file.name=FILE
appender.file.fileName=${file}
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
`;

/** Kafka's cluster id: 16 random bytes, base64url without padding (the broker's own Uuid format; never starting with '-'). */
export function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * The guard: runs java in the background, stops it (SIGTERM, a controlled shutdown) when its standard
 * input closes — this process ended or called stop() — or when the guard itself is sent SIGTERM/SIGINT,
 * and exits with java's status. Its first line of output is java's pid.
 */
const GUARD = `
log="$1"; shift
java "$@" >>"$log" 2>&1 &
j=$!
echo "$j"
( while read -r _; do :; done; kill -TERM "$j" 2>/dev/null ) <&0 &
trap 'kill -TERM "$j" 2>/dev/null' TERM INT
while kill -0 "$j" 2>/dev/null; do wait "$j"; done
wait "$j"
`;

const JVM = (heap: string) => [`-Xmx${heap}`, '-Xms64m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', '-Dfile.encoding=UTF-8'];

/**
 * Writes a node's configuration into its data directory (`props` for `serverProperties`' output) and formats its KRaft
 * storage once (`cluster`: the id every node of a cluster shares). Returns what `launchNode` takes.
 */
export async function prepareNode(libDir: string, dataDir: string, props: string, cluster: string = clusterId()): Promise<NodeFiles> {
  mkdirSync(dataDir, { recursive: true });
  const files: NodeFiles = { classPath: `${libDir}/*`, dataDir, props: join(dataDir, 'server.properties'), serverLog: join(dataDir, 'server.log') };
  writeFileSync(files.props, props);
  const log4j = join(dataDir, 'log4j2.properties');
  writeFileSync(log4j, LOG4J2(files.serverLog));
  if (!existsSync(join(dataDir, 'logs', 'meta.properties'))) {
    const formatted = await run('java', [
      ...JVM('256m'),
      '-XX:TieredStopAtLevel=1',
      ...sysProps(dataDir),
      '-cp',
      files.classPath,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      cluster,
      '-c',
      files.props,
    ]);
    if (formatted.code !== 0) throw new Error(`formatting the KRaft storage in ${dataDir} failed (exit ${formatted.code}):\n${formatted.text.slice(-3000)}`);
  }
  return files;
}

export interface NodeFiles {
  classPath: string;
  dataDir: string;
  props: string;
  serverLog: string;
}

const sysProps = (dataDir: string) => [`-Dlog4j2.configurationFile=${join(dataDir, 'log4j2.properties')}`, `-Dkafka.logs.dir=${dataDir}`];

/** A started node: its java process and how to stop it. */
export interface RunningNode {
  pid: number;
  startMs: number;
  /** Resolves with java's exit status once it has exited (a SIGKILL included). */
  exited: Promise<number>;
  /** Controlled shutdown (SIGTERM), then SIGKILL after `timeoutMs`. Resolves once java has exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Starts a prepared node under its guard; resolves once it says "Kafka Server started" (within `startTimeoutMs`). */
export async function launchNode(files: NodeFiles, heap: string, startTimeoutMs = 60_000): Promise<RunningNode> {
  const { serverLog, dataDir } = files;
  const logStart = existsSync(serverLog) ? readFileSync(serverLog).length : 0;
  const started = Date.now();
  const guard: ChildProcess = spawn(
    'bash',
    ['-c', GUARD, 'kafka-guard', join(dataDir, 'java.out'), ...JVM(heap), ...sysProps(dataDir), '-cp', files.classPath, 'kafka.Kafka', files.props],
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  guard.stdin?.on('error', () => {});
  const exited = new Promise<number>((ok) => guard.once('exit', (code, signal) => ok(code ?? (signal ? 128 : 1))));
  const pid = await new Promise<number>((ok, fail) => {
    let text = '';
    guard.stdout?.on('data', (d) => {
      text += d;
      const m = /^(\d+)\n/.exec(text);
      if (m) ok(Number(m[1]));
    });
    guard.once('error', fail);
    void exited.then((code) => fail(new Error(`the Kafka broker's guard exited (${code}) before starting java`)));
  });
  // the guard's own pipes must not keep this process alive (its stdin is the pipe that stops the broker when we end)
  guard.unref();
  for (const s of [guard.stdin, guard.stdout, guard.stderr] as unknown as { unref?: () => void }[]) s?.unref?.();
  let stopped: Promise<void> | undefined;
  const stop = (timeoutMs = 20_000) =>
    (stopped ??= (async () => {
      guard.stdin?.end();
      const killer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }, timeoutMs);
      await exited;
      clearTimeout(killer);
    })());
  const fail = async (why: string) => {
    await stop(2000);
    const tail = existsSync(serverLog) ? readFileSync(serverLog, 'utf8').slice(-3000) : '';
    const out = existsSync(join(dataDir, 'java.out')) ? readFileSync(join(dataDir, 'java.out'), 'utf8').slice(-2000) : '';
    return new Error(`the Kafka broker ${why}:\n${tail}${out}`);
  };
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  // "Kafka Server started": the broker has joined its quorum and serves clients
  for (;;) {
    if (exitedEarly) throw await fail('exited while starting');
    if (Date.now() - started > startTimeoutMs) throw await fail(`did not start within ${startTimeoutMs / 1000} s`);
    if (existsSync(serverLog) && readFileSync(serverLog).subarray(logStart).includes('Kafka Server started')) break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return { pid, startMs: Date.now() - started, exited, stop };
}

/** Resolves (once), formats (once per data directory) and starts the broker; resolves once it accepts clients. */
export async function startLocalKafka(o: LocalKafkaOptions): Promise<LocalKafka> {
  const { libDir } = await resolveKafka(o.home, o.log);
  const dataDir = resolve(o.dataDir ?? join(o.home, 'kafka', 'data'));
  const port = o.port || (await freePort());
  const node: KafkaNode = { nodeId: 1, port, controllerPort: await freePort(), dataDir };
  const files = await prepareNode(libDir, dataDir, serverProperties(node, [node], o.partitions ?? 6));
  const running = await launchNode(files, o.heap ?? '512m');
  o.log?.info({ port, dataDir, pid: running.pid, ms: running.startMs }, 'Kafka broker started');
  return { bootstrapServers: `127.0.0.1:${port}`, port, dataDir, pid: running.pid, startMs: running.startMs, stop: running.stop };
}

export function run(cmd: string, args: string[]): Promise<{ code: number; text: string }> {
  return new Promise((ok) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', (err) => ok({ code: 127, text: `${cmd}: ${err.message}` }));
    child.on('close', (code) => ok({ code: code ?? 1, text }));
  });
}
