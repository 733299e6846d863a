/**
 * The order in which a log's decisions were made, for replay. Replicas racing for one customer log a visit's
 * decisions in the order they won the stream, not in the order of the focuses: each decision counts as offered what
 * its visit's decisions logged before it (the log is the arbiter). Replay takes the same view: a customer's focuses
 * between an entry and an exit reach the session in the order their decisions were logged. A single process logs
 * them in focus order, so nothing moves there.
 *
 * The decisions are read ahead in a window of the log. A focus whose decision is not in sight (one a restart made
 * for a focus logged before a crash, or none) was decided after those that are, so it goes after them; two focuses
 * of one visit whose decisions are both out of sight keep their order.
 */
import { currentRecord, fromExported, type ExportedEvent } from '../../actors/kernel/event-log.ts';
import { loggedInputId } from '../process/processor-contract.ts';
import { isSessionInputType } from './inputs.ts';
import { must } from '../../actors/kernel/must.ts';

interface Slot {
  e: ExportedEvent;
  /** Set for a customer's session input (entry, focus or exit that came in). */
  customer?: string;
  focus?: string;
  released?: boolean;
}

export class DecisionOrder {
  private slots: Slot[] = [];
  private head = 0;
  /** Where each focus's decision sits in the log, for the decisions in the window. */
  private decidedAt = new Map<string, number>();
  /** Each customer's session inputs in the window, oldest first. */
  private byCustomer = new Map<string, Slot[]>();

  constructor(private readonly window = 20_000) {}

  /** One record in (of any schema version: held in the current shape); the records due out, in replay order. */
  push(record: ExportedEvent): ExportedEvent[] {
    const e = currentRecord(record);
    const slot: Slot = { e };
    const cause = e.metadata?.cause;
    if (e.metadata?.source === 'output') {
      if ((e.type === 'prediction' || e.type === 'no_prediction') && typeof cause === 'string') this.decidedAt.set(cause, e.position);
    } else if (isSessionInputType(e.type)) {
      const customer = String((e.data as { id?: unknown })?.id);
      slot.customer = customer;
      if (e.type === 'focus') slot.focus = loggedInputId(fromExported(e));
      const mine = this.byCustomer.get(customer);
      if (mine) mine.push(slot);
      else this.byCustomer.set(customer, [slot]);
    }
    this.slots.push(slot);
    const out: ExportedEvent[] = [];
    while (this.slots.length - this.head > this.window) this.release(out);
    return out;
  }

  /** The end of the log: everything still held, in replay order. */
  end(): ExportedEvent[] {
    const out: ExportedEvent[] = [];
    while (this.head < this.slots.length) this.release(out);
    return out;
  }

  private release(out: ExportedEvent[]) {
    const slot = this.slots[this.head];
    this.slots[this.head++] = undefined as never;
    if (this.head > 65_536) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    if (slot.e.metadata?.source === 'output' && typeof slot.e.metadata.cause === 'string') this.decidedAt.delete(slot.e.metadata.cause);
    if (slot.released) return;
    if (slot.focus) for (let first = this.firstDecided(slot); first !== slot; first = this.firstDecided(slot)) this.emit(first, out);
    this.emit(slot, out);
  }

  /** Of this focus and the customer's focuses after it up to their next entry or exit, the one decided first. */
  private firstDecided(slot: Slot): Slot {
    let first = slot;
    let at = this.decidedAt.get(must(slot.focus, 'the focus')) ?? Number.POSITIVE_INFINITY;
    for (const s of this.byCustomer.get(must(slot.customer, 'the customer')) ?? []) {
      if (s.released || s.e.position <= slot.e.position) continue;
      if (!s.focus) break;
      const d = this.decidedAt.get(s.focus) ?? Number.POSITIVE_INFINITY;
      if (d < at) {
        first = s;
        at = d;
      }
    }
    return first;
  }

  private emit(slot: Slot, out: ExportedEvent[]) {
    slot.released = true;
    out.push(slot.e);
    if (!slot.customer) return;
    const mine = must(this.byCustomer.get(slot.customer), `the focuses of ${slot.customer}`);
    while (mine.length && mine[0].released) mine.shift();
    if (!mine.length) this.byCustomer.delete(slot.customer);
  }
}

/** `records` in the order their decisions were made (see DecisionOrder). */
export async function* inDecisionOrder(records: Iterable<ExportedEvent> | AsyncIterable<ExportedEvent>, window?: number): AsyncIterable<ExportedEvent> {
  const order = new DecisionOrder(window);
  for await (const e of records) yield* order.push(e);
  yield* order.end();
}
