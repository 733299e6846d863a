/**
 * Start-up that a signal cuts short. Ctrl-C two seconds into `npm start` once waited for every role to start,
 * logged "storeflow ready", and only then stopped. Now each step of the start-up is awaited together with the
 * abort signal: on abort the start-up stops waiting, starts nothing more and stops what has started; a step still
 * under way is undone when it settles, and whatever it logs meanwhile is dropped (no "ready" after "stopping").
 */
import type { Bindings, ChildLoggerOptions } from 'pino';
import type { Logger } from './logger.ts';

/** startStoreflow's rejection when its start-up was aborted. */
export class StartAborted extends Error {
  constructor() {
    super('start-up aborted');
  }
}

/**
 * `work`, or StartAborted as soon as `signal` aborts; `undo` then runs on what `work` yields later (a role that
 * finished starting after the abort is stopped). Without a signal, `work` itself.
 */
export function abortable<T>(signal: AbortSignal | undefined, work: Promise<T>, undo?: (value: T) => unknown): Promise<T> {
  if (!signal) return work;
  const late = () => {
    work.then(
      (value) => {
        try {
          return Promise.resolve(undo?.(value)).catch(() => {});
        } catch {
          /* undoing is best effort: the process is stopping */
        }
      },
      () => {},
    );
  };
  if (signal.aborted) {
    late();
    return Promise.reject(new StartAborted());
  }
  return new Promise<T>((ok, fail) => {
    const onAbort = () => {
      late();
      fail(new StartAborted());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        ok(value);
      },
      (err) => {
        signal.removeEventListener('abort', onAbort);
        fail(err);
      },
    );
  });
}

const LEVELS = new Set<PropertyKey>(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const quiet = () => {};

/** When the parts' log is silent: `muted()` after an abort; `over()` once the start-up succeeded and nothing can mute it. */
export interface LogGate {
  muted(): boolean;
  over(): boolean;
}

/**
 * `log` for the parts being started: silent while `gate.muted()` (the start-up was aborted), and so is every child
 * made from it. A part that finishes starting after Ctrl-C does not announce itself. Children made once the gate is
 * over are plain loggers (a session's child logger costs nothing more).
 */
export function mutableLog(log: Logger, gate: LogGate): Logger {
  return new Proxy(log, {
    get(target, prop) {
      if (prop === 'child')
        return (bindings: Bindings, options?: ChildLoggerOptions) =>
          gate.over() ? target.child(bindings, options) : mutableLog(target.child(bindings, options), gate);
      if (LEVELS.has(prop) && gate.muted()) return quiet;
      return Reflect.get(target, prop, target);
    },
  });
}
