/**
 * One storeflow per data folder. `npm start` on embedded PostgreSQL holds STOREFLOW_HOME/storeflow.lock: its pid,
 * when that process started, and its control plane's URL. A second start on the folder finds the lock, sees its
 * owner alive, and stops before it touches anything (it once stopped the first copy's database as a leftover).
 * A lock whose owner is gone (a SIGKILLed run) is taken over, and the start recovers as before.
 *
 * The lock is written whole to a file of its own and then linked to its name: link() fails if the name exists,
 * so of two starts exactly one gets it, and a reader never sees half a lock. "Alive" means the pid runs and
 * started when the lock says (Linux: /proc/PID/stat, and the boot id), so a pid the kernel gave to another
 * process since is no owner.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'storeflow.lock';

export interface LockOwner {
  pid: number;
  /** The process's start time, in clock ticks since boot (Linux), to tell it from a later process with its pid. */
  started?: string;
  boot?: string;
  /** Its control plane, once it listens. */
  url?: string;
}

export interface HomeLock {
  /** Records the control plane's URL (a whole new lock, renamed over the old). */
  setUrl(url: string): void;
  /** Removes the lock if it is still this process's. */
  release(): void;
}

export type LockResult = { held: true; lock: HomeLock; staleOwner?: LockOwner } | { held: false; owner: LockOwner };

/** /proc/PID/stat's field 22 (starttime); the command name before it may hold spaces and parentheses. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `owner` still runs. */
export function ownerAlive(owner: LockOwner): boolean {
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const boot = bootId();
  if (owner.boot && boot && owner.boot !== boot) return false;
  const started = startTime(owner.pid);
  return !(owner.started && started && owner.started !== started);
}

/** The owner a lock's text names; text that is not a lock names no one anybody can check (pid 0: a dead owner). */
function parseOwner(text: string): LockOwner {
  try {
    const owner = JSON.parse(text) as LockOwner;
    return typeof owner === 'object' && owner !== null ? owner : { pid: 0 };
  } catch {
    return { pid: 0 };
  }
}

function safeRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

let serial = 0;
/** A file of this process's own beside the lock (never another's: pid and a counter). */
const scratch = (dir: string) => join(dir, `.${LOCK_FILE}.${process.pid}.${serial++}`);

/** Writes `owner` whole, then links it to `file`: false if `file` exists. */
function create(dir: string, file: string, owner: LockOwner): boolean {
  const tmp = scratch(dir);
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`);
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Takes the lock of `dir` for this process, or names the live owner that holds it. A dead owner's lock is moved
 * aside before it is removed, and checked to be the one read: two starts that find the same dead lock cannot
 * remove each other's new one.
 */
export function lockHome(dir: string, url?: string): LockResult {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, started: startTime(process.pid), boot: bootId(), ...(url ? { url } : {}) };
  let staleOwner: LockOwner | undefined;
  for (let attempt = 0; attempt < 10; attempt++) {
    if (create(dir, file, me)) return { held: true, lock: heldLock(dir, file, me), staleOwner };
    const text = safeRead(file);
    if (text === undefined) continue; // gone meanwhile: try again
    const owner = parseOwner(text);
    if (ownerAlive(owner)) return { held: false, owner };
    staleOwner = owner;
    const aside = scratch(dir);
    try {
      renameSync(file, aside);
    } catch {
      continue; // another start moved it first
    }
    // moved a lock another start had just made: put it back (it holds the folder now)
    if (safeRead(aside) !== text)
      try {
        linkSync(aside, file);
      } catch {
        /* a third start's lock is there: it holds the folder */
      }
    unlinkSync(aside);
  }
  throw new Error(`could not take ${file}: it keeps changing (several storeflow starts at once?)`);
}

function heldLock(dir: string, file: string, me: LockOwner): HomeLock {
  const mine = () => {
    const text = safeRead(file);
    const owner = text === undefined ? undefined : parseOwner(text);
    return owner?.pid === me.pid && owner.started === me.started;
  };
  return {
    setUrl(url) {
      if (!mine()) return;
      me.url = url;
      const tmp = scratch(dir);
      writeFileSync(tmp, `${JSON.stringify(me)}\n`);
      renameSync(tmp, file);
    },
    release() {
      if (mine()) unlinkSync(file);
    },
  };
}

/** What a second start says, and exits 2 with. */
export function heldMessage(dir: string, owner: LockOwner): string {
  return (
    `storeflow is already running here (pid ${owner.pid}, ${owner.url ?? 'still starting'})\n` +
    `Its data folder is ${dir} (STOREFLOW_HOME). Stop it first (Ctrl-C in its terminal, or kill ${owner.pid}), or give this start a folder of its own: STOREFLOW_HOME=other-folder npm start\n`
  );
}
