/**
 * Publications the broker has not taken yet, by output id. Where an input is acknowledged only once what it caused is
 * published (Transport.acksAfterPublication: Kafka's offset commit), its acknowledgement waits for them: a process
 * killed between logging an output and sending it leaves its input unacknowledged, to be read again by whoever
 * takes it over.
 */
import type { Outbound, SendOptions } from '../edges/transport.ts';
import type { Output } from './processor-contract.ts';

export class Unacknowledged {
  private waiting = new Map<string, Promise<void>>();

  constructor(private readonly broker: Pick<Outbound, 'send'>) {}

  /** The broker's send; a publication with an id is remembered until the broker takes it (or fails it). */
  send(topic: string, payload: string | Buffer, opts: SendOptions = {}, done?: (err?: Error) => void): void {
    const id = opts.id;
    if (id === undefined) {
      this.broker.send(topic, payload, opts, done);
      return;
    }
    let settle!: (err?: Error) => void;
    const taken = new Promise<void>((ok, fail) => {
      settle = (err) => (err ? fail(err) : ok());
    });
    taken.catch(() => undefined); // heard by whoever waits for it
    this.waiting.set(id, taken);
    this.broker.send(topic, payload, opts, (err) => {
      if (this.waiting.get(id) === taken) this.waiting.delete(id);
      settle(err);
      done?.(err);
    });
  }

  /** Once the broker took every one of these outputs it was handed; undefined when it has already. */
  taken(outputs: readonly Output[]): Promise<unknown> | undefined {
    const all: Promise<void>[] = [];
    for (const o of outputs) {
      const w = o.publish && this.waiting.get(o.messageId);
      if (w) all.push(w);
    }
    return all.length ? Promise.all(all) : undefined;
  }
}
