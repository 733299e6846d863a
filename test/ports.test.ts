/**
 * Ports handed to servers that bind later (children, embedded PostgreSQL, the local Kafka broker): outside the
 * kernel's ephemeral range, where an outgoing connection could take one first (a replica in the Kafka test once
 * failed to start with its PORT in use), never the same one twice in a process, and free when handed out.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:net';
import { ephemeralRange, freePort, portFree } from '../adapters/edges/ports.ts';

test('freePort: 200 ports, none in the ephemeral range, none twice, each bindable when handed out', async () => {
  const [low, high] = ephemeralRange();
  const ports: number[] = [];
  const problems: string[] = [];
  for (let i = 0; i < 200; i++) {
    const port = await freePort();
    if (port >= low && port <= high) problems.push(`${port} is in the ephemeral range ${low}-${high}`);
    const free = await portFree(port, '127.0.0.1');
    if (free !== true) problems.push(`${port} ${free}`);
    ports.push(port);
  }
  assert.equal(problems, []);
  assert.is(new Set(ports).size, 200);
});

test('freePort skips a port that is taken; portFree says why a port cannot be used', async () => {
  const taken = createServer();
  const port = await freePort();
  await new Promise<void>((ok) => taken.listen(port, '127.0.0.1', ok));
  try {
    assert.is(await portFree(port, '127.0.0.1'), 'already in use');
    for (let i = 0; i < 50; i++) assert.is.not(await freePort(), port);
  } finally {
    await new Promise((ok) => taken.close(ok));
  }
  assert.is(await portFree(port, '127.0.0.1'), true);
});

test.run();
