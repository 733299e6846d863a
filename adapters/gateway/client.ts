/** One WebSocket client of an event stream: what it has in flight, its replay seam, its close codes. */
import type { WebSocket } from 'ws';
import type { RoutedEvent } from '../../actors/gateway/routing-key.ts';
import { ReplaySeam, type StreamStart } from '../../actors/gateway/stream-replay.ts';
import { cork, uncork } from './socket-cork.ts';

/** Close codes a client sees (RFC 6455 leaves 4000-4999 to applications). */
export const CLOSE = {
  badParameters: 4400,
  unknownStream: 4404,
  deleted: 4410,
  tooSlow: 4429,
  shutdown: 1001,
} as const;

/** An event as the gateway sends it: its position and its bytes (serialised once for every client). */
export interface Outgoing {
  position: number;
  payload: Buffer;
}

/** The clients of one stream and what the stream selects. */
export interface Group {
  id: string;
  match: (e: RoutedEvent) => boolean;
  clients: Set<Client>;
}

export class Client {
  inFlight = 0;
  closed = false;
  alive = true;
  seam: ReplaySeam<Outgoing>;
  private wake: (() => void) | undefined;
  private lowWater: number;
  constructor(
    readonly ws: WebSocket,
    readonly group: Group,
    readonly limit: number,
    start: StreamStart,
    private onTooSlow: (c: Client) => void,
  ) {
    // held live events (≤ limit/2) plus what is in flight (≤ limit/4 at the seam) stay under the limit
    this.seam = new ReplaySeam(Math.max(1, Math.floor(limit / 2)), start.from === 'live' ? { live: true, after: start.after } : { live: false });
    this.lowWater = Math.max(1, Math.floor(limit / 4));
  }
  /** ws calls this once the frame is handed to the kernel (or the socket failed). */
  private sent = () => {
    this.inFlight--;
    if (this.wake && this.inFlight <= this.lowWater) {
      const w = this.wake;
      this.wake = undefined;
      w();
    }
  };
  send(o: Outgoing): void {
    if (this.closed) return;
    if (this.inFlight >= this.limit) {
      this.onTooSlow(this);
      return;
    }
    this.inFlight++;
    this.ws.send(o.payload, { binary: false }, this.sent);
  }
  /** Resolves when the client has room for more (replay backpressure). */
  roomy(): Promise<void> | undefined {
    return this.inFlight < this.limit / 2 ? undefined : this.settled();
  }
  /** Resolves once at most limit/4 messages are in flight (or the client is gone). */
  settled(): Promise<void> | undefined {
    if (this.inFlight <= this.lowWater || this.closed) return undefined;
    return new Promise((ok) => {
      this.wake = ok;
    });
  }
  release() {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  cork() {
    cork(this.ws);
  }
  uncork() {
    uncork(this.ws);
  }
}

/** A close reason is at most 123 bytes. */
export function truncate(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}
