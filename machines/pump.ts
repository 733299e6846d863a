/**
 * The focus-event pump (seed 000): stopped ⇄ running. While running, every tick draws a batch of
 * random focus events (customer ids uniform in MIN_CUSTOMER_ID..MAX_CUSTOMER_ID, departments from the
 * data) from the seeded stream it was given, and hands it to the `publishBatch` actor, which publishes it
 * through the publisher the pump was created with (the adapter's MQTT one). Ticks are PERIODIC_TASKS_INTERVAL
 * apart, start to start: a batch that takes longer starts the next one at once (as the original did). With a target rate, a batch covers the time the
 * previous tick really took, so timer slack does not lower the achieved rate.
 * Pure: no clock and no Math.random(); the publisher reports when each batch started.
 */
import { setup, assign, emit, fromPromise } from 'xstate';
import { resumePrng, skipped, type Prng, type PrngState } from '../actors/kernel/prng.ts';
import type { Department } from '../schemas/departments.ts';
import { creationInput } from '../actors/kernel/creation-input.ts';
import { must } from '../actors/kernel/must.ts';

export interface PumpSettings {
  intervalMs: number;
  /** Events per tick when no target rate is set. */
  eventsPerTick: number;
  /** Target events/s; 0 = use eventsPerTick. */
  rate: number;
}

/**
 * The focus events of one tick: customer ids and department indexes (into the input's departments),
 * as typed arrays so a batch of thousands costs two allocations. The publisher stamps `ts`.
 */
export interface Batch {
  ids: Uint32Array;
  deps: Uint8Array;
  departments: readonly Department[];
}

/** A batch in context (data) as the publisher takes it: `count` customers and departments drawn from `from`. */
export function batchOf(c: Pick<PumpContext, 'batch' | 'departments' | 'minCustomerId' | 'maxCustomerId'>): Batch {
  const count = c.batch?.count ?? 0;
  const ids = new Uint32Array(count);
  const deps = new Uint8Array(count);
  if (c.batch) {
    const rng = resumePrng(c.batch.from);
    const n = c.departments.length;
    for (let i = 0; i < count; i++) {
      ids[i] = rng.int(c.minCustomerId, c.maxCustomerId);
      deps[i] = rng.int(0, n - 1);
    }
  }
  return { ids, deps, departments: c.departments };
}

export interface BatchResult {
  sent: number;
  failed: number;
  /** When the batch started, in the publisher's monotonic milliseconds. */
  startedAt: number;
  /** How long publishing took (until the broker acknowledged every event). */
  elapsedMs: number;
}

/** Publishes one batch (the adapter's MQTT publisher); rejects only when nothing could be published. */
export type PublishBatch = (batch: Batch) => Promise<BatchResult>;

export interface PumpInput {
  rng: Prng;
  minCustomerId: number;
  maxCustomerId: number;
  departments: readonly Department[];
  settings: PumpSettings;
  /** The publisher (a port: a function, so not in context; actors/kernel/creation-input.ts). */
  publish?: PublishBatch;
}

export interface PumpContext extends Omit<PumpInput, 'publish' | 'rng'> {
  /** The generator, as data: the next batch is drawn from here. */
  rng: PrngState;
  /** The batch being published, as data: its size and where its draws start (`batchOf` draws it). */
  batch: { count: number; from: PrngState } | undefined;
  /** Fraction of an event carried to the next tick (target rates that are not a whole number per tick). */
  carry: number;
  /** The previous batch's start and duration, from the publisher. */
  previousStart: number | undefined;
  lastElapsedMs: number;
  /** The time the last tick really covered (start to start), bounded. */
  periodMs: number;
}

export type PumpEvent = { type: 'START'; by: string } | { type: 'STOP'; by: string } | { type: 'SETTINGS'; settings: Partial<PumpSettings> };

export type PumpEmitted = { type: 'started'; by: string } | { type: 'stopped'; by: string } | { type: 'publishFailed'; error: string };

/** Never more than this many events in one tick (a huge rate × interval would exhaust memory). */
export const MAX_BATCH = 100_000;
/** After a stall, a tick covers at most this many intervals (no catch-up storm). */
const MAX_CATCH_UP = 4;

export const pumpMachine = setup({
  types: {
    context: {} as PumpContext,
    events: {} as PumpEvent,
    input: {} as PumpInput,
    emitted: {} as PumpEmitted,
  },
  actors: {
    /** Publishes one batch through the publisher it is handed. Rejects only when nothing could be published. */
    publishBatch: fromPromise<BatchResult, { batch: Batch; publish?: PublishBatch }>(({ input }) => must(input.publish, 'the publisher')(input.batch)),
  },
  delays: {
    /** Ticks are an interval apart start to start: the time the batch took is taken off the wait. */
    untilNextTick: ({ context }) => Math.max(0, context.settings.intervalMs - context.lastElapsedMs),
  },
  actions: {
    drawBatch: assign(({ context }) => {
      const { settings } = context;
      let count = settings.eventsPerTick;
      let carry = 0;
      if (settings.rate > 0) {
        const exact = (settings.rate * context.periodMs) / 1000 + context.carry;
        count = Math.floor(exact);
        carry = exact - count;
      }
      count = Math.min(count, MAX_BATCH);
      // two draws per event (a customer, a department): the batch itself is drawn where it is published (batchOf)
      return { batch: { count, from: context.rng }, rng: skipped(context.rng, 2 * count), carry };
    }),
    recordBatch: assign(({ context }, r: { startedAt: number; elapsedMs: number }) => {
      const cap = context.settings.intervalMs * MAX_CATCH_UP;
      const period = context.previousStart === undefined ? context.settings.intervalMs : r.startedAt - context.previousStart;
      return { batch: undefined, previousStart: r.startedAt, lastElapsedMs: r.elapsedMs, periodMs: Math.min(cap, Math.max(0, period)) };
    }),
    forgetBatch: assign({ batch: undefined, lastElapsedMs: 0 }),
    /** A fresh run: the first tick covers one interval. */
    resetTiming: assign(({ context }) => ({ previousStart: undefined, lastElapsedMs: 0, carry: 0, periodMs: context.settings.intervalMs })),
    applySettings: assign(({ context, event }) => {
      if (event.type !== 'SETTINGS') return {};
      const settings = { ...context.settings, ...event.settings };
      return { settings, carry: 0, periodMs: settings.intervalMs };
    }),
    announceStart: emit(({ event }) => ({ type: 'started' as const, by: event.type === 'START' ? event.by : 'unknown' })),
    announceStop: emit(({ event }) => ({ type: 'stopped' as const, by: event.type === 'STOP' ? event.by : 'unknown' })),
    reportFailure: emit((_, error: string) => ({ type: 'publishFailed' as const, error })),
  },
}).createMachine({
  id: 'pump',
  description: 'Focus-event load generator: publishes a batch of random focus events every tick while running',
  context: ({ input: { publish: _port, rng, ...input } }) => ({
    ...input,
    rng: rng.state(),
    batch: undefined,
    carry: 0,
    previousStart: undefined,
    lastElapsedMs: 0,
    periodMs: input.settings.intervalMs,
  }),
  initial: 'stopped',
  on: {
    SETTINGS: { actions: 'applySettings' },
  },
  states: {
    stopped: {
      description: 'Not publishing; waits for START (HTTP, the command topic, or GENERATOR_AUTO_START)',
      on: { START: { target: 'running', actions: ['resetTiming', 'announceStart'] } },
    },
    running: {
      description: 'Publishing a batch every PERIODIC_TASKS_INTERVAL',
      initial: 'publishing',
      on: { STOP: { target: 'stopped', actions: ['forgetBatch', 'announceStop'] } },
      states: {
        publishing: {
          description: 'Drawing a batch and publishing it; resolves once the broker acknowledged it',
          entry: 'drawBatch',
          invoke: {
            src: 'publishBatch',
            input: ({ context, self }) => ({ batch: batchOf(context), publish: creationInput<PumpInput>(self).publish }),
            onDone: { target: 'waiting', actions: { type: 'recordBatch', params: ({ event }) => event.output } },
            onError: {
              target: 'waiting',
              actions: ['forgetBatch', { type: 'reportFailure', params: ({ event }) => String((event.error as Error)?.message ?? event.error) }],
            },
          },
        },
        waiting: {
          description: 'Until the next tick',
          after: { untilNextTick: 'publishing' },
        },
      },
    },
  },
});
