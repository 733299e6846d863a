/**
 * No secret reaches any output (issue 14, item 4): with DEBUG=mqttjs* (the README's way to trace
 * MQTT packets) mqtt.js printed MQTT_PASSWORD, and the password inside MQTT_URL, in clear on stderr.
 * A child process connects the way a role does, with debug output on; its whole output is searched.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fixtures/mqtt-debug-child.ts', import.meta.url));

function run(env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => ok({ code: code ?? 1, out }));
  });
}

const cases: [string, Record<string, string>, string[]][] = [
  ['MQTT_PASSWORD', { CHILD_MQTT_USERNAME: 'shop', CHILD_MQTT_PASSWORD: 'pw-from-env-7Qx!"\'' }, ['pw-from-env-7Qx']],
  ['a password inside MQTT_URL', { CHILD_MQTT_URL: 'mqtt://shop:pw-in-url-9Zk%40%22@127.0.0.1:PORT' }, ['pw-in-url-9Zk', 'pw-in-url-9Zk%40']],
];

for (const [name, env, secrets] of cases) {
  test(`DEBUG=mqttjs* traces packets without ${name}`, async () => {
    const { code, out } = await run({ DEBUG: 'mqttjs*', ...env });
    assert.is(code, 0, out);
    assert.match(out, /mqttjs:client MqttClient :: clientId/, 'mqtt.js debug output is on');
    assert.match(out, /cmd: 'connect'/, 'the CONNECT packet is traced');
    const leaks = secrets.filter((s) => out.includes(s));
    assert.equal(
      leaks,
      [],
      `secrets in the output:\n${out
        .split('\n')
        .filter((l) => secrets.some((s) => l.includes(s)))
        .join('\n')}`,
    );
    const passwordLines = out.split('\n').filter((l) => /password/i.test(l));
    assert.ok(passwordLines.length > 0, 'the CONNECT packet has a password field');
    assert.equal(
      passwordLines.filter((l) => !/password: ['"`]\*\*\*['"`]/.test(l)),
      [],
      'every password shown as ***',
    );
  });
}

test("DEBUG=* (every namespace, mqtt-packet's too) leaks nothing either", async () => {
  const { code, out } = await run({ DEBUG: '*', CHILD_MQTT_USERNAME: 'shop', CHILD_MQTT_PASSWORD: 'pw-all-namespaces-3Jd' });
  assert.is(code, 0, out);
  assert.match(out, /mqtt-packet:/);
  assert.not.ok(
    out.includes('pw-all-namespaces-3Jd'),
    out
      .split('\n')
      .filter((l) => l.includes('pw-all'))
      .join('\n'),
  );
});

test.run();
