/** The fuzzer's table: a line per path as it ends, the total, the examples per path and the verdict. */
import type { Stats } from './run.ts';

/** A path passes when the child's idle RSS after it is within 20 % of where it started (issue 14). */
export const RSS_GROWTH_BOUND = 1.2;
const grew = (s: Stats) => s.rssAfter > s.rssBefore * RSS_GROWTH_BOUND;

interface Row {
  name: string;
  sent: string | number;
  ok: string | number;
  refused: string | number;
  fivexx: string | number;
  hangs: string | number;
  crashes: string | number;
  seconds: string | number;
  mem: string;
}

export class Report {
  private readonly w: number;

  constructor(
    names: string[],
    private write: (text: string) => void = (t) => process.stdout.write(t),
  ) {
    this.w = Math.max(...names.map((n) => n.length), 10);
  }

  private cols(s: Row): string {
    const W = this.w;
    return `${s.name.padEnd(W)}  ${String(s.sent).padStart(7)}  ${String(s.ok).padStart(7)}  ${String(s.refused).padStart(7)}  ${String(s.fivexx).padStart(5)}  ${String(s.hangs).padStart(5)}  ${String(s.crashes).padStart(7)}  ${String(typeof s.seconds === 'number' ? s.seconds.toFixed(0) : s.seconds).padStart(5)}  ${s.mem}`;
  }

  header(): void {
    this.write(
      `${this.cols({ name: 'path', sent: 'sent', ok: 'ok', refused: 'refused', fivexx: '5xx', hangs: 'hangs', crashes: 'crashes', seconds: 's', mem: 'rss MB before → after' })}\n`,
    );
  }

  /** A path's line, once it is done. */
  path(s: Stats): void {
    const mem = `${s.rssBefore.toFixed(0)} → ${s.rssAfter.toFixed(0)} (${s.rssAfter > s.rssBefore ? '+' : ''}${(((s.rssAfter - s.rssBefore) / s.rssBefore) * 100).toFixed(0)} %)${grew(s) ? ' !' : ''}`;
    this.write(`${this.cols({ ...s, sent: s.timeCapped ? `${s.sent}*` : s.sent, mem })}\n`);
  }

  /**
   * The total, the examples and the verdict (`elapsed`: seconds since the start); returns the failures: crashes + 5xx +
   * hangs + paths whose memory did not come back within the bound.
   */
  end(results: Stats[], elapsed: () => number, o: { pathSeconds: number; count: number }): number {
    const total = results.reduce(
      (t, s) => ({
        sent: t.sent + s.sent,
        ok: t.ok + s.ok,
        refused: t.refused + s.refused,
        fivexx: t.fivexx + s.fivexx,
        hangs: t.hangs + s.hangs,
        crashes: t.crashes + s.crashes,
      }),
      { sent: 0, ok: 0, refused: 0, fivexx: 0, hangs: 0, crashes: 0 },
    );
    const first = results[0]?.rssBefore ?? NaN;
    const last = results[results.length - 1]?.rssAfter ?? NaN;
    this.write(`${this.cols({ name: 'total', ...total, seconds: elapsed(), mem: `${first.toFixed(0)} → ${last.toFixed(0)} over the run` })}\n`);
    for (const s of results) if (s.examples.length) this.write(`\n${s.name}:\n${s.examples.map((e) => `  - ${e}`).join('\n')}\n`);
    const grown = results.filter(grew).length;
    if (results.some((s) => s.timeCapped)) this.write(`\n* stopped at --path-seconds ${o.pathSeconds} before --count ${o.count}\n`);
    const failed = total.crashes + total.fivexx + total.hangs + grown;
    this.write(
      `\n${total.crashes} crashes, ${total.fivexx} 5xx, ${total.hangs} hangs over ${total.sent} inputs on ${results.length} paths; memory ${grown ? `NOT back within 20 % after ${grown} path(s) (marked !)` : 'back within 20 % after every path'}; ${elapsed().toFixed(0)} s: ${failed ? 'FAIL' : 'PASS'}\n`,
    );
    return failed;
  }
}
