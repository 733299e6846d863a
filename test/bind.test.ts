/**
 * Bind where asked (issue 14, item 3): the embedded MQTT broker and every HTTP server (control plane,
 * the gateway's public WebSocket port and its internal API) listen on HOST, 127.0.0.1 unless told.
 * The embedded broker once listened on 0.0.0.0 without authentication even with HOST=127.0.0.1.
 * Listening sockets are read from /proc/net/tcp{,6} (Linux).
 */
import { test } from 'uvu';
import { must } from '../actors/kernel/must.ts';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../schemas/env.ts';
import { startTestApp } from './helpers.ts';
import type { GatewayHandle } from '../adapters/gateway/index.ts';

/** Listening TCP sockets: port → local addresses. */
function listening(): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A = LISTEN
      const [hex, portHex] = f[1].split(':');
      const address = hex.length === 8 ? [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.') : /^0+$/.test(hex) ? '::' : `v6:${hex}`;
      const port = parseInt(portHex, 16);
      out.set(port, [...(out.get(port) ?? []), address]);
    }
  }
  return out;
}

test('HOST defaults to 127.0.0.1 (a laptop start); HOST=0.0.0.0 exposes it', () => {
  const r = parseConfig({});
  assert.ok(r.ok && r.config.host === '127.0.0.1');
  const exposed = parseConfig({ HOST: '0.0.0.0' });
  assert.ok(exposed.ok && exposed.config.host === '0.0.0.0');
});

const skip = !existsSync('/proc/net/tcp');
(skip ? test.skip : test)('every server of a process, the embedded broker included, listens on HOST only', async () => {
  for (const host of ['127.0.0.1', '0.0.0.0']) {
    // no MQTT_URL: the process starts its own (embedded) broker
    const app = await startTestApp({ ROLES: 'recommender,gateway', HOST: host, MQTT_URL: '', MQTT_PORT: '0' });
    try {
      const gw = app.roles.get('gateway') as GatewayHandle;
      const ports = {
        control: (app.http.server.address() as AddressInfo).port,
        stream: gw.streamPort,
        api: gw.apiPort,
        broker: must(app.infrastructure.embeddedBroker, 'app.infrastructure.embeddedBroker').port,
      };
      const sockets = listening();
      assert.equal(
        Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, sockets.get(port)])),
        { control: [host], stream: [host], api: [host], broker: [host] },
        `HOST=${host}`,
      );
      // the roles reached the embedded broker
      assert.is((await fetch(`${app.url}/readyz`)).status, 200);
    } finally {
      await app.close();
    }
  }
});

test.run();
