/** Free TCP ports and port-in-use checks. */
import { createServer } from 'node:net';

/** Where a client on this machine reaches a server bound to `host`: the loopback for a wildcard, else the host (IPv6 in brackets). */
export function localAddress(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, host, () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}
