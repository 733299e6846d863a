/**
 * What a benchmark hands `npm run bench` (scripts/bench.ts): with `--json` it ends its usual output with one line of
 * JSON, `{"bench": name, "setting": "…", "rows": [BenchRow, …]}`, and the runner puts the rows of every benchmark in
 * one table. A row is one figure, the baseline measured in the same run, their ratio, and the target.
 */

export interface BenchRow {
  /** What is measured, e.g. "recommender, storeflow's data: sustained focus→prediction". */
  figure: string;
  value: number;
  /** How `value` reads: "/s", "ms", "M pairs/s", "events/s", "shoppers", "" … */
  unit: string;
  /** The same work done the plainest way, measured in the same run (absent when there is none). */
  baseline?: { what: string; value: number };
  /** value / baseline, or the benchmark's own ratio when it is not that (say so in `ratioIs`). */
  ratio?: number;
  /** What `ratio` is when not value / baseline, e.g. "CPU per event, actors / plain loop". */
  ratioIs?: string;
  /** For latencies: value − baseline, in `unit`. */
  added?: number;
  /** The target as the README and the issues state it, e.g. "≥ 0.7 of the size-matched echo". */
  target?: string;
  met?: boolean;
  /** A few words more, shown after the figure (e.g. "40 % department coupons, mean 60 KB"). */
  note?: string;
}

export interface BenchResult {
  bench: string;
  /** The settings this run used, in words (e.g. "10,000 focus events, 1,000/s for 5 s"). */
  setting: string;
  rows: BenchRow[];
}

/** Prints the result as the last line of the output (stdout). */
export function printBenchJson(result: BenchResult): void {
  console.log(JSON.stringify(result));
}

/** The option every benchmark takes for it (add to the `cli` options). */
export const JSON_OPTION = {
  json: { type: 'boolean' as const, help: 'end with one line of JSON: the figures, baselines, ratios and targets (for npm run bench)' },
};
