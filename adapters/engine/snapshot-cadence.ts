/**
 * When a role snapshots its customers' actors, and the writing of them (docs/snapshots.md): every `every` inputs of a
 * customer's stream handled here, at the first of them that leaves the actor at rest; kept until the outputs of that
 * input are logged (a snapshot never holds a decision the log may lose), then written in batches, off the path of an
 * input: a flush every `flushMs` or `batch` snapshots, one INSERT each, after the group commits it follows.
 */
import type { SnapshotStore, StateSnapshot } from '../../actors/kernel/snapshot-store.ts';
import type { MachineVersion } from './machine-version.ts';

export interface SnapshotCadenceOptions {
  store: SnapshotStore;
  machine: MachineVersion;
  /** Inputs of a stream between two snapshots of it (default 32). */
  every?: number;
  flushMs?: number;
  batch?: number;
  onError?(err: unknown): void;
}

/** Snapshots waiting for their input's outputs are forgotten past this many (their outputs were refused, or never came). */
const HELD_LIMIT = 10_000;
/** Streams counted at most (customers come and go: the counts are forgotten past it). */
const COUNTED_LIMIT = 500_000;

export class SnapshotCadence {
  readonly machine: MachineVersion;
  /** Where the snapshots are kept (a rebuild reads them there too). */
  readonly store: SnapshotStore;
  private counts = new Map<string, number>();
  private held = new Map<string, { snapshot: StateSnapshot; outputs: number }>();
  private queue: StateSnapshot[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** Snapshots written, and batches. */
  readonly stats = { written: 0, batches: 0 };

  constructor(private o: SnapshotCadenceOptions) {
    this.machine = o.machine;
    this.store = o.store;
  }

  /** One more input of the stream handled here: whether its actor is due a snapshot (it stays due until one is taken). */
  due(streamId: string): boolean {
    if (this.counts.size >= COUNTED_LIMIT) this.counts.clear(); // forgetting only delays a snapshot
    const n = (this.counts.get(streamId) ?? 0) + 1;
    this.counts.set(streamId, n);
    return n >= (this.o.every ?? 32);
  }

  /**
   * The actor's state as of the stream's `version`, taken after input `inputId`; written once its `outputs` outputs are
   * logged. `state` undefined: the actor is not at rest (or gone), and stays due. `version` undefined: the input is not
   * logged yet (one unit with its outputs): held until its unit is, whose commit says the version.
   */
  take(streamId: string, version: number | undefined, state: unknown, inputId: string, outputs: number): void {
    if (state === undefined) return;
    this.counts.set(streamId, 0);
    const snapshot: StateSnapshot = { streamId, machine: this.o.machine.machine, machineVersion: this.o.machine.version, version: version ?? 0, state };
    if (outputs === 0 && version !== undefined) {
      this.write(snapshot);
      return;
    }
    if (this.held.size >= HELD_LIMIT) this.held.clear();
    this.held.set(inputId, { snapshot, outputs });
  }

  /**
   * `n` outputs of input `inputId` are logged (`version`: the input's, logged with them as one unit): its snapshot is
   * written when they are all its outputs.
   */
  logged(inputId: string, n: number, version?: number): void {
    const h = this.held.get(inputId);
    if (!h) return;
    this.held.delete(inputId);
    if (h.snapshot.version === 0 && version !== undefined) h.snapshot.version = version;
    if (n === h.outputs && h.snapshot.version > 0) this.write(h.snapshot);
  }

  private write(s: StateSnapshot) {
    this.queue.push(s);
    if (this.queue.length >= (this.o.batch ?? 500)) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.o.flushMs ?? 250);
      this.timer.unref?.();
    }
  }

  /** Writes what is queued (after the batch being written); resolves once it is. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return this.writing;
    this.writing = this.writing.then(() =>
      this.o.store.save(batch).then(
        () => {
          this.stats.written += batch.length;
          this.stats.batches++;
        },
        (err) => this.o.onError?.(err),
      ),
    );
    return this.writing;
  }
}
