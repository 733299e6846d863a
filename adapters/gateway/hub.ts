/**
 * The streams' clients and what reaches them: every batch the log takes, routed and serialised once
 * and sent to every client of every stream that selects it (the live tail); a client that asks for
 * history is replayed from the log in pages and joins the live tail at the seam
 * (actors/gateway/stream-replay.ts: no gap, no duplicate). Slow and silent clients are closed.
 */
import type { WebSocket } from 'ws';
import type { EventLog, LoggedEvent, StreamPageRow } from '../../actors/kernel/event-log.ts';
import { customerOf, onlyType, routingKeyMatcher, type RoutedEvent } from '../../actors/gateway/routing-key.ts';
import { streamMessage, type StreamStart } from '../../actors/gateway/stream-replay.ts';
import { amqpFormatOf } from '../../actors/gateway/amqp-message.ts';
import type { Logger } from '../process/logger.ts';
import type { Metrics } from '../process/metrics.ts';
import { must } from '../../actors/kernel/must.ts';
import type { StreamRecord } from './records.ts';
import { streamPage } from './stream-page.ts';
import { firstPositionSince } from './log-position.ts';
import { archivedStart } from '../../actors/kernel/archived.ts';
import { CLOSE, Client, type Group, type Outgoing } from './client.ts';

export interface HubOptions {
  eventLog: EventLog;
  /**
   * Where live events come from (default: the appends of this process's log); the gateway tails every process's. A tail
   * says how far it has delivered (a replay reads up to there and no further: what follows comes live, so an event
   * that commits late below a later one is never skipped) and where the log is final (a live client starts there).
   */
  live?: { subscribe(listener: (events: LoggedEvent[]) => void): () => void; readonly position?: number; settledHead?(): Promise<number> };
  log: Logger;
  metrics: Metrics;
  /** Messages a client may have in flight before it counts as too slow. */
  clientBuffer: number;
  pageSize: number;
  heartbeatMs: number;
  closeGraceMs: number;
}

export class StreamHub {
  private groups = new Map<string, Group>();
  private replays = new Set<Promise<void>>();
  private timers = new Set<NodeJS.Timeout>();
  private unsubscribe: () => void;
  private heartbeat: NodeJS.Timeout;
  private m;

  constructor(private o: HubOptions) {
    this.m = {
      connected: o.metrics.gauge('storeflow_gateway_clients', 'WebSocket clients connected to event streams'),
      sent: o.metrics.counter('storeflow_gateway_messages_total', 'Messages handed to WebSocket clients', ['phase']),
      closed: o.metrics.counter('storeflow_gateway_closes_total', 'Clients closed by the gateway', ['reason']),
    };
    this.unsubscribe = (o.live ?? o.eventLog).subscribe((batch) => this.tail(batch));
    this.heartbeat = setInterval(() => this.beat(), o.heartbeatMs);
  }

  /** Connected clients, per stream id. */
  clients(): Map<string, number> {
    return new Map([...this.groups.values()].map((g) => [g.id, g.clients.size]));
  }

  /** Where a live client starts: after every position taken before it asked. */
  head(): Promise<number> {
    return this.o.live?.settledHead ? this.o.live.settledHead() : this.o.eventLog.head();
  }

  /** A client of a known stream: live at once, or replayed first. */
  join(ws: WebSocket, record: StreamRecord, start: StreamStart): Client {
    let group = this.groups.get(record.id);
    if (!group) {
      group = { id: record.id, match: routingKeyMatcher(record.routing_key), clients: new Set() };
      this.groups.set(record.id, group);
    }
    const client = new Client(ws, group, this.o.clientBuffer, start, (c) => this.tooSlow(c));
    group.clients.add(client);
    this.m.connected.inc();
    this.o.log.debug({ stream: record.id, from: start }, 'client connected');
    if (start.from !== 'live') {
      const p = this.replay(client, start, record.routing_key)
        .catch((err) => {
          this.o.log.error({ err, stream: group.id }, 'replay failed');
          this.close(client, 1011, 'replay failed');
        })
        .finally(() => this.replays.delete(p));
      this.replays.add(p);
    }
    return client;
  }

  /** A client that went away by itself. */
  drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    c.release();
    c.group.clients.delete(c);
    if (c.group.clients.size === 0) this.groups.delete(c.group.id);
    this.m.connected.dec();
  }

  close(c: Client, code: number, reason: string): void {
    if (c.closed) return;
    this.drop(c);
    this.m.closed.inc({ reason });
    try {
      c.ws.close(code, reason);
    } catch {
      c.ws.terminate();
      return;
    }
    // a client that does not read will never answer the close frame
    const t = setTimeout(() => {
      this.timers.delete(t);
      c.ws.terminate();
    }, this.o.closeGraceMs);
    this.timers.add(t);
    c.ws.once('close', () => {
      clearTimeout(t);
      this.timers.delete(t);
    });
  }

  /** A refusal before a client joined (counted like a close). */
  refused(reason: string): void {
    this.m.closed.inc({ reason });
  }

  /** The stream was deleted: its clients are closed at once. */
  deleted(id: string): void {
    const g = this.groups.get(id.toLowerCase());
    if (g) for (const c of [...g.clients]) this.close(c, CLOSE.deleted, 'stream deleted');
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    for (const g of [...this.groups.values()]) for (const c of [...g.clients]) this.close(c, CLOSE.shutdown, 'server shutting down');
    await Promise.allSettled([...this.replays]);
  }

  /** After stop: cancel the close timers of clients that never answered. */
  clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private tooSlow(c: Client) {
    this.o.log.warn({ stream: c.group.id, buffered: c.inFlight }, 'client too slow: closing');
    this.close(c, CLOSE.tooSlow, 'client too slow');
  }

  private beat() {
    for (const g of this.groups.values())
      for (const c of g.clients) {
        if (!c.alive) {
          this.o.log.debug({ stream: g.id }, 'no pong: dropping client');
          this.m.closed.inc({ reason: 'no pong' });
          this.drop(c);
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        try {
          c.ws.ping();
        } catch {
          /* closing */
        }
      }
  }

  /** Live: every batch appended (by any process, through the log tail), once durable, in position order. */
  private tail(batch: LoggedEvent[]) {
    if (this.groups.size === 0) return;
    const routed: (RoutedEvent | undefined)[] = new Array(batch.length);
    const out: (Outgoing | undefined)[] = new Array(batch.length);
    for (const g of this.groups.values()) {
      const matched: Outgoing[] = [];
      for (let i = 0; i < batch.length; i++) {
        const e = batch[i];
        let r = routed[i];
        if (!r) {
          r = {
            type: e.type,
            customer: customerOf(e.streamId, e.data),
            routingKey: typeof e.metadata?.routing_key === 'string' ? e.metadata.routing_key : undefined,
          };
          routed[i] = r;
        }
        if (!g.match(r)) continue;
        let o = out[i];
        if (!o) {
          const routingKey = r.routingKey;
          o = {
            position: e.position,
            payload: Buffer.from(
              streamMessage({
                position: e.position,
                recordedAt: e.recordedAt,
                type: e.type,
                streamId: e.streamId,
                version: e.version,
                messageId: e.messageId,
                dataJson: JSON.stringify(e.data) ?? 'null',
                metadataJson: JSON.stringify(e.metadata ?? {}),
                format: routingKey === undefined ? undefined : amqpFormatOf(JSON.stringify(e.metadata)),
              }),
            ),
          };
          out[i] = o;
        }
        matched.push(o);
      }
      if (matched.length === 0) continue;
      for (const c of g.clients) {
        const now = c.seam.offer(matched);
        if (now.length === 0) continue;
        if (now.length > 1) c.cork();
        for (const m of now) c.send(m);
        if (now.length > 1) c.uncork();
        this.m.sent.inc({ phase: 'live' }, now.length);
      }
    }
  }

  /** From the log, page by page (reading ahead), then live. */
  private async replay(c: Client, start: StreamStart, routingKey: string) {
    const { eventLog, pageSize } = this.o;
    const type = onlyType(routingKey);
    const fromTime = start.from === 'time' ? start.ms : undefined;
    // from a time: the first event recorded at or after it (recorded_at is indexed)
    let cursor = start.from === 'ordinal' ? start.position : fromTime !== undefined ? await firstPositionSince(eventLog, fromTime) : 0;
    // archived history asked for: said first, in a message of its own, then what the log holds
    const mark = start.from === 'live' ? undefined : await eventLog.archived?.();
    const notice = mark && archivedStart(mark, start.from === 'ordinal' ? { position: start.position } : { ms: fromTime ?? 0 });
    if (mark && notice) {
      const body = JSON.stringify({ archived_before: mark.before, files: mark.files.map((f) => f.file), notice });
      c.send({
        position: mark.before - 1,
        payload: Buffer.from(
          streamMessage({
            position: mark.before - 1,
            recordedAt: Date.now(),
            type: 'archived',
            streamId: 'archive',
            version: 0,
            dataJson: body,
            metadataJson: '{}',
          }),
        ),
      });
    }
    // a replay capped at the tail's delivered position goes live only once the tail has delivered what the log held
    // when the client came: what the tail delivers after that comes live, so a burst behind it is replayed (paced)
    const live = this.o.live;
    const target = live?.position !== undefined ? await this.head() : undefined;
    const page = (from: number) => streamPage(eventLog, from, { fromTime, type, limit: pageSize, toPosition: this.o.live?.position });
    let next: Promise<StreamPageRow[]> | undefined = page(cursor);
    for (;;) {
      const rows: StreamPageRow[] = await must(next, 'the next page');
      next = undefined;
      if (c.closed) return;
      if (rows.length) cursor = rows[rows.length - 1].position + 1;
      if (rows.length === pageSize) next = page(cursor);
      let n = 0;
      c.cork();
      for (const r of rows) {
        if (!c.group.match({ type: r.type, customer: r.customer, routingKey: r.routingKey })) continue;
        if (!c.seam.replayed(r.position)) continue;
        c.send({
          position: r.position,
          payload: Buffer.from(
            streamMessage({
              position: r.position,
              recordedAt: r.recordedAt,
              type: r.type,
              streamId: r.streamId,
              version: r.version,
              messageId: r.messageId,
              dataJson: r.dataJson,
              metadataJson: r.metadataJson,
              format: r.routingKey == null ? undefined : amqpFormatOf(r.metadataJson),
            }),
          ),
        });
        // flush every few hundred frames, and before waiting for the client to read
        if (++n % 256 === 0) {
          c.uncork();
          c.cork();
        }
        const wait = c.roomy();
        if (wait) {
          c.uncork();
          await wait;
          if (c.closed) {
            await next?.catch(() => {});
            return;
          }
          c.cork();
        }
      }
      c.uncork();
      if (n) this.m.sent.inc({ phase: 'replay' }, n);
      if (rows.length < pageSize && target !== undefined && (live?.position ?? target) < target) {
        await new Promise((ok) => setTimeout(ok, 10));
        if (c.closed) return;
        next = page(cursor);
        continue;
      }
      if (rows.length < pageSize) {
        // room for the held events before they go out
        await c.settled();
        if (c.closed) return;
        const held = c.seam.caughtUp();
        if (held) {
          for (const m of held) c.send(m);
          return;
        }
        next = page(cursor); // live events overflowed while replaying: they are in the log
      }
    }
  }
}
