/** Free TCP ports and port-in-use checks. */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where a client on this machine reaches a server bound to `host`: the loopback for a wildcard, else the host (IPv6 in brackets). */
export function localAddress(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The kernel's ephemeral range: where outgoing connections take their local ports, and where `listen(0)` picks.
 * Linux says it in /proc; elsewhere the IANA range (macOS, Windows).
 */
export function ephemeralRange(): readonly [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low <= high) return [low, high];
  } catch {}
  return [49152, 65535];
}

/** Ports this process handed out: not handed out again, since the first may not be bound yet. */
const handedOut = new Set<number>();

/** Whether something already listens on host:port (EADDRINUSE); other bind errors (EACCES, EADDRNOTAVAIL) are reported as they are. */
export function portFree(port: number, host: string): Promise<true | string> {
  return new Promise((ok) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => ok(err.code === 'EADDRINUSE' ? 'already in use' : `cannot be bound (${err.code ?? err.message})`));
    probe.listen({ port, host }, () => probe.close(() => ok(true)));
  });
}

/** A port the kernel picks (inside the ephemeral range). */
function anyPort(host: string): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

/**
 * A port free now, for a server that binds it later (often another process). It is chosen below the ephemeral
 * range: a port from `listen(0)` lies inside it, and in the seconds before its server binds, an outgoing connection
 * of this machine can take it as its local port, and the server then fails to start with the port in use.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [low, high] = ephemeralRange();
  // below the range when there is room (Linux: 32768), else above it
  const [from, to] = low > 11_000 ? [10_000, low - 1] : [high + 1, 65_535];
  for (let attempt = 0; attempt < 50 && to > from; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (handedOut.has(port)) continue;
    if ((await portFree(port, host)) !== true) continue;
    handedOut.add(port);
    return port;
  }
  return anyPort(host);
}
