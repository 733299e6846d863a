/**
 * The soak's child processes: each in its own process group (a Ctrl-C at the terminal reaches the soak only,
 * which then stops them in order), with its exit as a promise. Every process started here is in `running`,
 * so nothing outlives the soak: `killAll()` is the last resort. The services that run in them are
 * soak-services.ts.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { must } from '../actors/kernel/must.ts';
import { connect } from 'node:net';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every child process the soak has started and not yet seen exit. */
const running = new Set<ChildProcess>();

/** Last resort (exit handler, second Ctrl-C): SIGKILL every process group the soak started. */
export function killAll(): void {
  for (const c of running) {
    try {
      process.kill(-must(c.pid, 'a soak process id'), 'SIGKILL');
    } catch {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process in its own process group, with its exit as a promise. */
export class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  exit?: Exit;
  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    opts: SpawnOptions,
  ) {
    this.child = spawn(cmd, args, { ...opts, detached: true });
    running.add(this.child);
    this.exited = new Promise((ok) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        running.delete(this.child);
        this.exit ??= { code, signal };
        ok(this.exit);
      };
      this.child.once('exit', done);
      this.child.once('error', () => done(null, null));
    });
  }
  get pid(): number {
    return this.child.pid ?? -1;
  }
  alive(): boolean {
    return this.exit === undefined && this.child.pid !== undefined;
  }
  signal(sig: NodeJS.Signals): void {
    if (this.alive()) this.child.kill(sig);
  }
  /** `sig`, then SIGKILL if it has not exited within `ms`. */
  async stop(sig: NodeJS.Signals, ms: number): Promise<Exit> {
    if (!this.alive()) return this.exited;
    this.signal(sig);
    const t = setTimeout(() => this.signal('SIGKILL'), ms);
    const e = await this.exited;
    clearTimeout(t);
    return e;
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (false after `ms`). */
export async function waitForPort(port: number, ms: number, alive: () => boolean = () => true): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && alive()) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}
