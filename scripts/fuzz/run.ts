/**
 * A path's run: its tally (Stats), how an outcome is counted, and `each`, which sends a path's inputs
 * with some in flight and drops the outcomes of a child that died meanwhile.
 */
import type { Prng } from '../../actors/kernel/prng.ts';

export type Outcome = 'ok' | 'refused' | '5xx' | 'hang' | 'reset';

export interface Stats {
  name: string;
  sent: number;
  ok: number;
  refused: number;
  fivexx: number;
  hangs: number;
  resets: number;
  crashes: number;
  rssBefore: number;
  rssAfter: number;
  seconds: number;
  examples: string[];
  skipped?: string;
  timeCapped?: boolean;
}

export interface FuzzPath {
  name: string;
  run(stats: Stats, rng: Prng): Promise<void>;
}

/** One input: its outcome and how to describe it (asked only for an example), or undefined when counted already. */
export type One = (i: number) => Promise<[Outcome, () => string] | undefined>;
export type Each = (stats: Stats, n: number, concurrency: number, one: One) => Promise<void>;

/** What every path is given. */
export interface PathContext {
  /** Inputs per path, in flight at once, and how long an answer may take. */
  count: number;
  concurrency: number;
  timeoutMs: number;
  /** The run's start in seconds since the epoch (the templates' timestamps). */
  now: number;
  each: Each;
}

/** What `each` needs of the child: wait for it, and tell whether it is the one that was asked. */
export interface ChildState {
  ready: Promise<void>;
  generation: number;
  alive: boolean;
}

export function count(stats: Stats, outcome: Outcome, what: () => string) {
  switch (outcome) {
    case 'ok':
      stats.ok++;
      break;
    case 'refused':
      stats.refused++;
      break;
    case '5xx':
      stats.fivexx++;
      if (stats.examples.length < 6) stats.examples.push(`5xx: ${what()}`);
      break;
    case 'hang':
      stats.hangs++;
      if (stats.examples.length < 6) stats.examples.push(`hang: ${what()}`);
      break;
    case 'reset':
      stats.resets++;
      if (stats.examples.length < 6) stats.examples.push(`reset: ${what()}`);
      break;
  }
}

/** `each(stats, n, concurrency, one)` runs `one(i)` for i < n with `concurrency` in flight; outcomes from a child that died meanwhile are not counted. */
export function makeEach(child: ChildState, pathSeconds: number, stopping: () => boolean): Each {
  return async (stats, n, concurrency, one) => {
    let next = 0;
    const deadline = Date.now() + pathSeconds * 1000;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, n) }, async () => {
        while (next < n && !stopping()) {
          if (Date.now() > deadline) {
            stats.timeCapped = true;
            return;
          }
          const i = next++;
          await child.ready.catch(() => {});
          const generation = child.generation;
          const r = await one(i);
          stats.sent++;
          if (!r) continue;
          if (child.generation !== generation || !child.alive) continue;
          count(stats, r[0], r[1]);
        }
      }),
    );
  };
}

/** An input as it shows in an example: its first `n` bytes as a JSON string. */
export const show = (b: Buffer, n = 160) => {
  const s = b.subarray(0, n).toString('utf8');
  return JSON.stringify(b.length > n ? `${s}…(${b.length} bytes)` : s);
};
