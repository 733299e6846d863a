/**
 * The detector's processor: one focus-detector actor per customer in the store, hosted by the
 * generic customer host. An entry, move or exit in; the focus and browsing events it caused out, as
 * outputs to log and publish (a focus goes on to the recommender). Live runs, recovery and replay
 * use this one module.
 */
import {
  FOCUS_DETECTOR_CODE_VERSION,
  focusDetectorMachine,
  type DetectorContext,
  type DetectorEmitted,
  type DetectorEvent,
} from '../../machines/focus-detector.ts';
import { CustomerHost, type Routed } from '../../actors/kernel/customer-host.ts';
import { Footsteps, type SavedWalk, type Walk } from '../../actors/detector/footsteps.ts';
import { toFlat, type StoreEvent } from '../../schemas/events.ts';
import type { InspectionEvent } from 'xstate';
import { loggedInputId, outputId, type Input, type Output, type Processor } from '../process/processor-contract.ts';
import { WALK_INPUTS } from '../engine/inputs.ts';
import { machineVersion } from '../engine/machine-version.ts';
import type { SnapshotCadence } from '../engine/snapshot-cadence.ts';
import type { StateSnapshot } from '../../actors/kernel/snapshot-store.ts';

/** The detector's version, as its snapshots name it (docs/snapshots.md): its machine's, which covers its footsteps. */
export const DETECTOR_MACHINE = machineVersion('focus-detector', FOCUS_DETECTOR_CODE_VERSION);

/** A detector's snapshot: its actor's persisted state and the customer's walk (their footsteps). */
interface DetectorState {
  actor: { context: DetectorContext };
  walk: SavedWalk;
}

export interface DetectorSettings {
  focusMinMoves: number;
  browsingMinMoves: number;
  idleTimeoutS: number;
  /** BROWSING_RADIUS; 0 or absent = no limit (the rule before the setting, for logs that do not record it). */
  browsingRadius?: number;
}

export interface DetectorProcessorOptions {
  settings: DetectorSettings;
  topics: { focus: string; browsing: string };
  inspect?: (e: InspectionEvent) => void;
  onCreated?(): void;
  onEnded?(): void;
  onError?(customerId: string, err: unknown): void;
  /** A shopper's walk ended idle at event time `ts` (replay and export note these). */
  onIdleEnd?(customerId: string, ts: number): void;
  /** Detectors are snapshotted at this cadence (none: never; replay takes none). */
  snapshots?: SnapshotCadence;
}

interface Routable {
  event: StoreEvent;
  inputId: string;
}

export class DetectorProcessor implements Processor {
  readonly consumes = WALK_INPUTS;
  /** The version its detectors' snapshots name. */
  readonly machine = DETECTOR_MACHINE;
  readonly host: CustomerHost<typeof focusDetectorMachine, Routable, DetectorEmitted>;
  /** Every move is counted here; the actors hear the ones that change what they decide. */
  private footsteps: Footsteps;

  constructor(private o: DetectorProcessorOptions) {
    const s = o.settings;
    this.footsteps = new Footsteps(s);
    this.host = new CustomerHost<typeof focusDetectorMachine, Routable, DetectorEmitted>({
      machine: focusDetectorMachine,
      emits: ['focus', 'browsing'],
      inspect: o.inspect,
      // a new customer's clock starts at their own first event, not at other customers' latest one
      input: (customerId) => ({ customerId, idleTimeoutS: s.idleTimeoutS }),
      idleTimeoutS: s.idleTimeoutS,
      tick: (ts) => ({ type: 'tick', ts }),
      route: ({ event, inputId }) => ({ customerId: event.id, ts: event.ts, routed: this.route(event, inputId) }),
      onCreate: () => o.onCreated?.(),
      onIdleEnd: o.onIdleEnd,
      onDone: (id) => {
        this.footsteps.forget(id);
        o.onEnded?.();
      },
      onError: (id, err) => {
        this.footsteps.forget(id);
        o.onEnded?.();
        o.onError?.(id, err);
      },
    });
  }

  get shoppers() {
    return this.host.actors;
  }

  /** A tracked customer's walk (zone, consecutive moves there), beside their actor's state. */
  walkOf(customerId: string): Readonly<Walk> | undefined {
    return this.footsteps.get(customerId);
  }

  handle({ logged, event }: Input): Output[] {
    const inputId = loggedInputId(logged);
    const emitted = this.host.input({ event, inputId });
    const outputs = emitted.map((e) => this.output(e));
    if (this.o.snapshots?.due(`customer-${event.id}`)) this.snapshot(event.id, logged.version, inputId, outputs.length);
    return outputs;
  }

  /** The customer's detector and walk as of the stream's `version` (a live actor: every state but the final ones is at rest). */
  private snapshot(customerId: string, version: number, inputId: string, outputs: number) {
    const actor = this.host.actors.get(customerId);
    const walk = this.footsteps.saved(customerId);
    if (!actor || !walk || actor.getSnapshot().status !== 'active') return;
    this.o.snapshots?.take(`customer-${customerId}`, version, { actor: actor.getPersistedSnapshot(), walk }, inputId, outputs);
  }

  /** The customer's detector and walk made from a snapshot of them (recovery); the settings in force replace the snapshot's. */
  restore(customerId: string, s: StateSnapshot): void {
    const state = s.state as DetectorState;
    const actor = { ...state.actor, context: { ...state.actor.context, idleTimeoutS: this.o.settings.idleTimeoutS } };
    this.footsteps.restore(customerId, state.walk);
    this.host.restore(customerId, actor as unknown as Parameters<typeof this.host.restore>[1], Math.max(state.actor.context.lastTs, state.walk.lastTs));
  }

  private output(e: DetectorEmitted): Output {
    const event = detectedEvent(e);
    const data = toFlat(event);
    return {
      streamId: `customer-${e.customerId}`,
      type: e.type,
      data,
      event,
      messageId: outputId(e.inputId, e.type),
      metadata: { cause: e.inputId },
      publish: { topic: e.type === 'focus' ? this.o.topics.focus : this.o.topics.browsing, payload: JSON.stringify(data) },
    };
  }

  stop(): void {
    this.host.actors.stopAll();
    this.footsteps.clear();
  }

  /** What a store event means to a customer's detector; an exit of someone never seen creates nothing. */
  private route(event: StoreEvent, inputId: string): Routed<DetectorEvent> | undefined {
    switch (event.kind) {
      case 'entry':
        this.footsteps.entered(event.id, event.ts);
        return { events: [{ type: 'entry', ts: event.ts }], create: true };
      case 'move':
        return { events: this.footsteps.step(event.id, { ts: event.ts, x: event.x, y: event.y, inputId }), create: true };
      case 'exit':
        return { events: [{ type: 'exit', ts: event.ts }], create: false };
      default:
        return undefined;
    }
  }
}

/** A detector's output as the store event it announces (published and logged in the flat format). */
export function detectedEvent(e: DetectorEmitted): StoreEvent {
  return e.type === 'focus'
    ? { kind: 'focus', id: e.customerId, ts: e.ts, dep: e.dep, x: e.x, y: e.y }
    : { kind: 'browsing', id: e.customerId, ts: e.ts, x: e.x, y: e.y };
}
