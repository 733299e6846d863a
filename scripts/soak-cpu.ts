/** CPU shares of processes from /proc (Linux), for soak.log. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** utime+stime ticks of a process, and of its children when `family` (PostgreSQL's backends), from /proc. */
function ticksOf(pid: number, family: boolean): number {
  let total = 0;
  const read = (p: string) => {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
    } catch {
      return undefined;
    }
  };
  total += read(String(pid))?.ticks ?? 0;
  if (family)
    for (const p of readdirSync('/proc'))
      if (/^\d+$/.test(p)) {
        const s = read(p);
        if (s?.ppid === pid) total += s.ticks;
      }
  return total;
}

/**
 * A meter: each call gives a process's CPU share since the previous call for it (ticks are 1/100 s on
 * Linux, so called once a second it reads as %); '' on the first call and where unreadable.
 */
export function cpuMeter(): (pid: number | undefined, family?: boolean) => string {
  const cpu = new Map<number, number>();
  return (pid, family = false) => {
    if (!pid || !existsSync(`/proc/${pid}`)) return '';
    const ticks = ticksOf(pid, family);
    const before = cpu.get(pid);
    cpu.set(pid, ticks);
    return before === undefined || ticks < before ? '' : `${ticks - before}%`;
  };
}
