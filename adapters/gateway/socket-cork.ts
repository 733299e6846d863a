/**
 * Many small frames in a row to one client: hold them in its socket and write them with one writev
 * instead of a system call each. ws offers no public cork, so this reaches for the net.Socket it
 * keeps in the private `_socket` — the one place storeflow touches ws internals. Without it, frames
 * go out one by one (correct, slower). test/socket-cork.test.ts fails if ws changes under it.
 */
import type { WebSocket } from 'ws';

type Corkable = { cork(): void; uncork(): void };

const socketOf = (ws: WebSocket): Corkable | undefined => (ws as unknown as { _socket?: Corkable })._socket;

export function cork(ws: WebSocket): void {
  socketOf(ws)?.cork();
}
export function uncork(ws: WebSocket): void {
  socketOf(ws)?.uncork();
}
/** Whether frames to this client can be batched (ws still keeps its socket where this module looks). */
export function corkable(ws: WebSocket): boolean {
  return typeof socketOf(ws)?.cork === 'function';
}
