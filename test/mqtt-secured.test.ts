/**
 * Secured brokers (issue 19.4; seed 001's "Connecting to a secured broker"): a Mosquitto started by
 * the test on private ports with a password file and TLS from a CA made with openssl
 * (test/fixtures/secured-mosquitto.ts). MQTT_USERNAME / MQTT_PASSWORD, MQTT_BROKER_CERT_FILE, a wrong
 * password or CA stopping storeflow with an error naming the variables, and no password in any log
 * line. Skipped with a message where mosquitto, mosquitto_passwd or openssl is missing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { missing, startSecuredMosquitto, type SecuredMosquitto } from './fixtures/secured-mosquitto.ts';
import { startTestApp, uniqueName, waitFor, type TestApp } from './helpers.ts';

const secured = suite('secured Mosquitto');
let broker: SecuredMosquitto;
const TS = 1764000000;

/** An entry published by an authenticated client reaches storeflow's event log. */
async function entryIsLogged(app: TestApp, url: string, extra: mqtt.IClientOptions = {}) {
  const client = await mqtt.connectAsync(url, {
    username: broker.username,
    password: broker.password,
    protocolVersion: 4,
    connectTimeout: 5000,
    reconnectPeriod: 0,
    ...extra,
  });
  try {
    await client.publishAsync(app.config.topics.enter, JSON.stringify({ id: '1', ts: TS }), { qos: 1 });
    const logged = await waitFor(
      async () => {
        const r = await app.eventLog.read({ streamId: 'customer-1' });
        return r.length ? r : null;
      },
      10_000,
      'the entry in the log',
    );
    assert.equal(
      logged.map((e) => [e.type, e.data]),
      [['entry', { id: '1', ts: TS }]],
    );
  } finally {
    await client.endAsync();
  }
}

const noPassword = (lines: string[]) => {
  for (const secret of [broker.password, 'wrong-password'])
    assert.not.ok(
      lines.some((l) => l.includes(secret)),
      `a log line holds a password: ${lines.find((l) => l.includes(secret))}`,
    );
};

const absent = missing();
if (absent) {
  console.log(`mqtt-secured: ${absent} not installed (Debian: apt-get install mosquitto mosquitto-clients openssl): secured-broker tests skipped`);
} else {
  secured.before(async () => {
    broker = await startSecuredMosquitto();
  });
  secured.after(async () => {
    await broker?.stop();
  });

  secured('MQTT_USERNAME and MQTT_PASSWORD: storeflow connects, consumes, and logs no password (at debug level)', async () => {
    const app = await startTestApp({
      MQTT_URL: `mqtt://127.0.0.1:${broker.plainPort}`,
      MQTT_USERNAME: broker.username,
      MQTT_PASSWORD: broker.password,
      LOG_LEVEL: 'debug',
    });
    try {
      await entryIsLogged(app, `mqtt://127.0.0.1:${broker.plainPort}`);
      assert.ok(app.logs.some((l) => l.includes('connected to MQTT broker')));
      noPassword(app.logs);
    } finally {
      await app.close();
    }
  });

  secured("MQTT_BROKER_CERT_FILE: TLS to MQTT_HOST:MQTT_PORT (the seeds' variables), the broker's certificate checked against the CA file", async () => {
    const app = await startTestApp({
      MQTT_URL: '',
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(broker.tlsPort),
      MQTT_BROKER_CERT_FILE: broker.caFile,
      MQTT_USERNAME: broker.username,
      MQTT_PASSWORD: broker.password,
      LOG_LEVEL: 'debug',
    });
    try {
      assert.equal(app.config.mqtt.urls, [`mqtts://127.0.0.1:${broker.tlsPort}`]);
      await entryIsLogged(app, `mqtts://127.0.0.1:${broker.tlsPort}`, { ca: readFileSync(broker.caFile) });
      noPassword(app.logs);
    } finally {
      await app.close();
    }
  });

  secured("a CA file that did not sign the broker's certificate: storeflow does not start, and the error names MQTT_BROKER_CERT_FILE", async () => {
    const started = Date.now();
    let error = '';
    await startTestApp({
      MQTT_URL: '',
      MQTT_HOST: '127.0.0.1',
      MQTT_PORT: String(broker.tlsPort),
      MQTT_BROKER_CERT_FILE: broker.otherCaFile,
      MQTT_USERNAME: broker.username,
      MQTT_PASSWORD: broker.password,
    }).then(
      async (app) => {
        await app.close();
      },
      (err) => {
        error = (err as Error).message;
      },
    );
    assert.match(error, `MQTT broker mqtts://127.0.0.1:${broker.tlsPort} failed the TLS handshake`);
    assert.match(error, "MQTT_BROKER_CERT_FILE must name the CA certificate that signed the broker's");
    assert.ok(Date.now() - started < 8000, 'at once, not after MQTT_CONNECT_TIMEOUT');
    assert.not.ok(error.includes(broker.password));
  });

  secured('a wrong password stops `npm start` (exit 1) with an error naming MQTT_USERNAME and MQTT_PASSWORD; no line holds a password', async () => {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      MQTT_URL: `mqtt://127.0.0.1:${broker.plainPort}`,
      MQTT_HOST: '',
      MQTT_USERNAME: broker.username,
      MQTT_PASSWORD: 'wrong-password',
      ROLES: 'recommender',
      DATABASE_SCHEMA: uniqueName(),
      AUTO_SEED: 'false',
      PORT: '0',
      LOG_LEVEL: 'debug',
      LOG_FILENAME: '',
      DEBUG: '',
    };
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    child.stdout.on('data', (d) => out.push(String(d)));
    child.stderr.on('data', (d) => out.push(String(d)));
    const code = await new Promise<number | null>((ok) => child.once('exit', ok));
    const lines = out.join('').split('\n').filter(Boolean);
    assert.is(code, 1, lines.join('\n'));
    assert.ok(Date.now() - started < 30_000);
    const fatal = lines.filter((l) => l.includes('MQTT_USERNAME'));
    assert.is(fatal.length, 1, lines.join('\n'));
    assert.match(fatal[0], `MQTT broker mqtt://127.0.0.1:${broker.plainPort} refused the connection`);
    assert.match(fatal[0], `Check MQTT_USERNAME and MQTT_PASSWORD (user \\"${broker.username}\\")`);
    noPassword(lines);
  });
}

secured.run();
