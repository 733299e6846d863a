/** storeflow, supervised as an operator would: restarted 1 s after it exits by itself; a SIGKILL the soak sends is expected. */
import type { Proc } from './soak-processes.ts';
import { must } from '../actors/kernel/must.ts';
import type { Storeflow } from './soak-services.ts';
import { s1, say } from './soak-format.ts';

export class Supervisor {
  /** When storeflow exited without being asked to, and how. */
  readonly unexpectedExits: { at: number; how: string }[] = [];
  private readonly expected = new WeakSet<Proc>();

  constructor(private o: { storeflow: Storeflow; closing: () => boolean; now: () => number; note: (line: string) => void }) {}

  start = (): void => {
    if (this.o.closing()) return;
    const proc = this.o.storeflow.start();
    void proc.exited.then((e) => {
      if (this.expected.has(proc) || this.o.closing()) return;
      const how = e.signal ?? `code ${e.code}`;
      this.unexpectedExits.push({ at: this.o.now(), how });
      this.o.note(`storeflow pid ${proc.pid} exited by itself (${how})`);
      say(`+${s1(this.o.now())}: storeflow exited by itself (${how}); restarting it in 1 s`);
      setTimeout(this.start, 1000);
    });
  };

  /** The storeflow fault: SIGKILL, and start it again once it has exited. */
  async kill(): Promise<void> {
    const proc = must(this.o.storeflow.proc, 'the storeflow process');
    this.expected.add(proc);
    proc.signal('SIGKILL');
    await proc.exited;
    this.start();
  }
}
