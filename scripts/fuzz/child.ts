/**
 * storeflow as the fuzzer's child process (`scripts/start.ts` under an inspector on loopback): started
 * until /readyz answers 200, its log kept (error lines counted), its RSS read from /proc and a full GC
 * done through its inspector; a child that was ready and exits is reported through `onExit`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { http } from './http.ts';
import { RSS_GROWTH_BOUND } from './report.ts';

export interface ChildOptions {
  env: Record<string, string>;
  /** The repository's root (its working directory). */
  cwd: string;
  /** Where its stdout and stderr are written. */
  logFile: WriteStream;
  /** Its control plane's port (/readyz). */
  httpPort: number;
}

export class Child {
  proc?: ChildProcess;
  generation = 0;
  alive = false;
  errorLines = 0;
  tail: string[] = [];
  /** The last error lines (level 50+) of storeflow's log. */
  errors: string[] = [];
  ready: Promise<void> = Promise.resolve();
  private inspectorUrl = '';
  private inspector?: WebSocket;
  private gcId = 0;
  /** Called when a child that was ready exits (a crash unless we stopped it). */
  onExit: (code: number | null, signal: string | null) => void = () => {};
  private wasReady = false;

  constructor(private o: ChildOptions) {}

  start(): Promise<void> {
    this.ready = this.launch();
    return this.ready;
  }

  private async launch() {
    this.generation++;
    this.inspector = undefined;
    this.inspectorUrl = '';
    const proc = spawn(process.execPath, ['--inspect=127.0.0.1:0', '--import', 'tsx', 'scripts/start.ts'], {
      env: this.o.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: this.o.cwd,
    });
    this.proc = proc;
    this.alive = true;
    const lines = (chunk: Buffer, err: boolean) => {
      this.o.logFile.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.tail.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
        if (this.tail.length > 60) this.tail.shift();
        const url = /Debugger listening on (ws:\/\/\S+)/.exec(line);
        if (err && url) this.inspectorUrl = url[1];
        if (line.startsWith('{') && /"level":(5\d|60)/.test(line)) {
          this.errorLines++;
          this.errors.push(line.length > 1000 ? `${line.slice(0, 1000)}…` : line);
          if (this.errors.length > 5) this.errors.shift();
        }
      }
    };
    proc.stdout?.on('data', (d: Buffer) => lines(d, false));
    proc.stderr?.on('data', (d: Buffer) => lines(d, true));
    this.wasReady = false;
    proc.on('exit', (code, signal) => {
      this.alive = false;
      if (this.wasReady) this.onExit(code, signal);
    });
    const until = Date.now() + 180_000;
    while (Date.now() < until) {
      if (!this.alive) throw new Error(`storeflow exited while starting:\n${this.tail.join('\n')}`);
      const r = await http('GET', this.o.httpPort, '/readyz', undefined, {}, 2000);
      if (r.status === 200) {
        this.wasReady = true;
        return;
      }
      await sleep(250);
    }
    throw new Error('storeflow was not ready within 180 s');
  }

  rssMb(): number {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${this.proc?.pid}/status`, 'utf8'))?.[1]) / 1024;
    } catch {
      return NaN;
    }
  }

  /** A full garbage collection in the child, through its inspector (loopback). */
  async gc(): Promise<void> {
    if (!this.alive || !this.inspectorUrl) return;
    if (!this.inspector || this.inspector.readyState !== WebSocket.OPEN) {
      const ws = new WebSocket(this.inspectorUrl);
      ws.on('error', () => {});
      const opened = await Promise.race([once(ws, 'open').then(() => true), sleep(3000).then(() => false)]).catch(() => false);
      if (!opened) return;
      this.inspector = ws;
    }
    const id = ++this.gcId;
    const ws = this.inspector;
    let on: (m: WebSocket.RawData) => void = () => {};
    const answered = new Promise<void>((ok) => {
      on = (m) => {
        if (JSON.parse(m.toString()).id === id) ok();
      };
      ws.on('message', on);
    });
    ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
    await Promise.race([answered, sleep(10_000)]);
    ws.off('message', on);
  }

  async stop(): Promise<void> {
    this.inspector?.close();
    const p = this.proc;
    if (!p || !this.alive) return;
    p.kill('SIGTERM');
    const done = await Promise.race([once(p, 'exit').then(() => true), sleep(20_000).then(() => false)]);
    if (!done) p.kill('SIGKILL');
  }
}

/** GC in the child, twice, and its RSS once settled. */
export async function settledRss(child: Child): Promise<number> {
  await child.gc();
  await sleep(200);
  await child.gc();
  await sleep(300);
  return child.rssMb();
}

/** After a path: idle, GC, until RSS is back within the bound (20 %) of `before` or the window (10 s) ends. */
export async function rssAfterWindow(child: Child, before: number): Promise<number> {
  const until = Date.now() + 10_000;
  let rss = await settledRss(child);
  while (rss > before * RSS_GROWTH_BOUND && Date.now() < until) {
    await sleep(1000);
    rss = await settledRss(child);
  }
  return rss;
}
