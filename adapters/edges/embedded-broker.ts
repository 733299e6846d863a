/** An in-process MQTT 3.1.1 broker (aedes) for machines with no broker of their own. */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from '../process/logger.ts';
import { localAddress } from './ports.ts';
import { guardPacketSize } from './mqtt-packet-guard.ts';

export interface EmbeddedBroker {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {}

/** `maxPacketBytes`: a connection whose packet announces more is closed before the packet is buffered (unset = no limit). */
/**
 * `noLocal`: the clients that never get their own publications back — MQTT 5's no-local, which this
 * 3.1.1 broker offers storeflow's own pipeline client through aedes' publish and forward hooks.
 */
export async function startEmbeddedBroker(opts: {
  port: number;
  host?: string;
  log: Logger;
  maxPacketBytes?: number;
  noLocal?: (clientId: string) => boolean;
}): Promise<EmbeddedBroker> {
  const noLocal = opts.noLocal;
  const broker = await Aedes.createBroker({
    heartbeatInterval: 30_000,
    ...(noLocal
      ? {
          // remember who published (aedes keeps a packet's clientId), and do not hand it back to them
          authorizePublish: (client: { id: string } | null, packet: { clientId?: string }, done: (err?: Error | null) => void) => {
            if (client && noLocal(client.id)) packet.clientId = client.id;
            done(null);
          },
          authorizeForward: (client: { id: string }, packet: { clientId?: string }) => (packet.clientId === client.id && noLocal(client.id) ? null : packet),
        }
      : {}),
  } as Parameters<typeof Aedes.createBroker>[0]);
  broker.on('clientError', (client, err) => opts.log.debug({ client: client?.id, err: err.message }, 'MQTT client error'));
  // Nagle off: small MQTT packets would otherwise wait for the peer's delayed ACK (~40 ms)
  const limit = opts.maxPacketBytes;
  const server: Server = createServer({ noDelay: true }, (socket) => {
    broker.handle(socket);
    if (limit)
      guardPacketSize(socket, limit, (bytes) =>
        opts.log.warn({ bytes, limit, remote: socket.remoteAddress }, 'MQTT packet above the size limit: connection closed'),
      );
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE')
        fail(
          new PortInUseError(
            `MQTT port ${opts.port} is already in use, so the embedded broker cannot start. Set MQTT_PORT to a free port (e.g. MQTT_PORT=1884), or set MQTT_URL=mqtt://127.0.0.1:${opts.port} to use the broker that holds it.`,
          ),
        );
      else fail(err);
    });
    server.listen(opts.port, host, () => ok());
  });
  const port = (server.address() as { port: number }).port;
  const shown = localAddress(host);
  opts.log.info(
    { url: `mqtt://${shown}:${port}`, host, try: `mosquitto_sub -h ${shown} -p ${port} -t '#' -v` },
    'embedded MQTT broker (3.1.1, no authentication) listening',
  );
  if (!/^(127\.|::1$|localhost$)/.test(host))
    opts.log.warn(
      { host, port },
      `the embedded MQTT broker has no authentication and listens on ${host}: anyone who reaches port ${port} can publish and subscribe (set HOST=127.0.0.1, or MQTT_URL for a broker with users)`,
    );
  return {
    url: `mqtt://${shown}:${port}`,
    port,
    stop: () =>
      new Promise<void>((ok) => {
        server.close();
        broker.close(() => ok());
      }),
  };
}
