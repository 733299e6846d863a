/**
 * A restart: what every processor left undone, run through the engine's one path, in the order a replay decides it.
 * Handed on locally, the last registered first: a processor hands its outputs on to those after it (the detector's
 * focus to the recommender), and what they logged before the crash and left undecided came before anything the
 * earlier one makes now. (Through the broker nothing is handed on here; that path keeps registration order.)
 */
import type { Engine } from './engine.ts';
import type { Logger } from '../process/logger.ts';

export async function recoverAll(engine: Engine, log: Logger): Promise<void> {
  const recovering = engine.handOffLocally ? [...engine.registered].reverse() : engine.registered;
  for (const r of recovering) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const recovery = await r.recover?.();
    if (!recovery) continue;
    await engine.recover(r, recovery);
    const ms = Math.round(performance.now() - t0);
    // the process's CPU time meanwhile (every thread: the collector's too): what the wall time is on a machine to itself
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    log.info({ processor: r.name, inputs: recovery.inputs.length, ms, cpuMs }, 'recovered: open visits read, restored and run again');
  }
}
