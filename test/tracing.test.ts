/**
 * One OpenTelemetry trace per input, end to end: storeflow on a Mosquitto of the test's own over MQTT 5 exports its
 * spans (OTLP/HTTP, JSON) to a receiver the test starts. A focus published with a chosen `traceparent` yields spans
 * of that trace, each under the right parent, one group-commit span linked to it, and a prediction that carries the
 * trace on; a detector's focus continues the trace of the move that completed it. Skipped, with the reason, where
 * Mosquitto is not installed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { findMosquitto, Mosquitto } from '../scripts/soak-services.ts';
import { freePort } from '../adapters/edges/ports.ts';
import { otlpReceiver, type ExportedSpan } from './otlp-receiver.ts';
import { sleep, startTestApp, waitFor, type TestApp } from './helpers.ts';

const mosquittoBin = findMosquitto();
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';
const UNSAMPLED = '4bf92f3577b34da6a3ce929d0e0e4736';

async function withTracedStoreflow(roles: string, body: (app: TestApp, client: MqttClient, spans: ExportedSpan[]) => Promise<void>) {
  if (!mosquittoBin) return console.log('tracing: mosquitto is not installed (Debian: apt-get install mosquitto): tracing tests skipped');
  const dir = mkdtempSync(join(tmpdir(), 'storeflow-tracing-'));
  const broker = new Mosquitto(mosquittoBin, await freePort(), dir);
  const receiver = await otlpReceiver();
  let app: TestApp | undefined;
  let client: MqttClient | undefined;
  try {
    await broker.start();
    app = await startTestApp({
      ROLES: roles,
      AUTO_SEED: 'true',
      MQTT_URL: broker.url,
      MQTT_PROTOCOL_VERSION: '5',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `tracing-${process.pid}` });
    await body(app, client, receiver.spans);
  } finally {
    await client?.endAsync();
    await app?.close();
    await broker.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Messages on `topic` with their MQTT 5 user properties. */
async function listen(client: MqttClient, topic: string) {
  const got: { body: unknown; traceparent?: string }[] = [];
  client.on('message', (t, payload, packet) => {
    if (t !== topic) return;
    const tp = packet.properties?.userProperties?.traceparent;
    got.push({ body: JSON.parse(payload.toString()), traceparent: Array.isArray(tp) ? tp[0] : tp });
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return got;
}

const publish = (client: MqttClient, topic: string, body: object, traceparent?: string) =>
  client.publishAsync(topic, JSON.stringify(body), { qos: 1, ...(traceparent ? { properties: { userProperties: { traceparent } } } : {}) });

const byName = (spans: ExportedSpan[], traceId: string) => new Map(spans.filter((s) => s.traceId === traceId).map((s) => [s.name, s]));

test('a focus with a traceparent: receive → step → publish, receive → append (its unit) in its trace; the commit linked; the prediction carries it on', async () => {
  await withTracedStoreflow('recommender', async (app, client, spans) => {
    const t = app.config.topics;
    const predictions = await listen(client, t.prediction);
    // the entry carries no trace context: a trace of its own starts
    await publish(client, t.enter, { id: '100', ts: 1764000000 });
    await publish(client, t.focus, { id: '100', ts: 1764000060, dep: 'Boys' }, `00-${TRACE}-${PARENT}-01`);
    await waitFor(() => predictions.length === 1, 15_000, 'the prediction');
    const mine = await waitFor(
      () => {
        const m = byName(spans, TRACE);
        return m.has(`receive ${t.focus}`) &&
          m.has(`publish ${t.prediction}`) &&
          spans.some((s) => s.name === 'commit' && s.links?.some((l) => l.traceId === TRACE))
          ? m
          : undefined;
      },
      15_000,
      "the focus's spans",
    );
    const receive = mine.get(`receive ${t.focus}`);
    const step = mine.get('step recommender');
    const publishSpan = mine.get(`publish ${t.prediction}`);
    assert.ok(receive && step && publishSpan);
    const appends = spans.filter((s) => s.traceId === TRACE && s.name === 'append');
    assert.equal(
      {
        names: [...mine.keys()].sort(),
        receiveParent: receive.parentSpanId,
        stepParent: step.parentSpanId,
        appendParents: appends.map((a) => a.parentSpanId).sort(),
        publishParent: publishSpan.parentSpanId,
      },
      {
        names: ['append', `publish ${t.prediction}`, `receive ${t.focus}`, 'step recommender'].sort(),
        receiveParent: PARENT,
        stepParent: receive.spanId,
        // the wait for the commit of the focus and its decision, one unit
        appendParents: [receive.spanId],
        publishParent: step.spanId,
      },
    );
    const commitLinks = spans.filter((s) => s.name === 'commit').flatMap((s) => s.links ?? []);
    assert.equal(
      appends.map((a) => commitLinks.some((l) => l.traceId === TRACE && l.spanId === a.spanId)),
      [true],
      'the append is linked from the group commit that carried it',
    );
    assert.is(predictions[0].traceparent, `00-${TRACE}-${publishSpan.spanId}-01`, 'the prediction carries the trace on');
    const entry = [...spans].find((s) => s.name === `receive ${t.enter}`);
    assert.ok(entry, "the entry's receive span");
    assert.is.not(entry.traceId, TRACE);
    assert.is(entry.parentSpanId, undefined, 'an input without trace context starts a trace');

    // a trace its sender did not sample: nothing recorded, and the prediction carries it on, still not sampled
    await publish(client, t.enter, { id: '101', ts: 1764000000 });
    await publish(client, t.focus, { id: '101', ts: 1764000060, dep: 'Boys' }, `00-${UNSAMPLED}-${PARENT}-00`);
    await waitFor(() => predictions.length === 2, 15_000, 'the second prediction');
    await sleep(500); // the exporter sends every 50 ms: what was recorded has arrived
    assert.match(predictions[1].traceparent ?? '', new RegExp(`^00-${UNSAMPLED}-[0-9a-f]{16}-00$`));
    assert.equal(
      spans.filter((s) => s.traceId === UNSAMPLED || s.links?.some((l) => l.traceId === UNSAMPLED)),
      [],
      'no span of the unsampled trace',
    );
  });
});

test("a detector's focus continues the trace of the move that completed it, through the recommender's step", async () => {
  await withTracedStoreflow('recommender,detector', async (app, client, spans) => {
    const t = app.config.topics;
    const focuses = await listen(client, t.focus);
    await publish(client, t.enter, { id: '100', ts: 1764000000 });
    // FOCUS_MIN_MOVES 3: the third move in Boys completes the dwell
    await publish(client, t.move, { id: '100', ts: 1764000010, x: 700, y: 500 });
    await publish(client, t.move, { id: '100', ts: 1764000020, x: 710, y: 505 });
    await publish(client, t.move, { id: '100', ts: 1764000030, x: 720, y: 510 }, `00-${TRACE}-${PARENT}-01`);
    await waitFor(() => focuses.length === 1, 15_000, 'the focus');
    const mine = await waitFor(
      () => {
        const m = byName(spans, TRACE);
        return m.has('step recommender') && m.has(`publish ${t.focus}`) ? m : undefined;
      },
      15_000,
      "the move's trace through the recommender",
    );
    const detectorStep = mine.get('step detector');
    const recommenderStep = mine.get('step recommender');
    const publishFocus = mine.get(`publish ${t.focus}`);
    assert.ok(detectorStep && recommenderStep && publishFocus);
    assert.equal(
      { recommenderParent: recommenderStep.parentSpanId, publishParent: publishFocus.parentSpanId, receiveParent: mine.get(`receive ${t.move}`)?.parentSpanId },
      { recommenderParent: detectorStep.spanId, publishParent: detectorStep.spanId, receiveParent: PARENT },
    );
    assert.is(focuses[0].traceparent, `00-${TRACE}-${publishFocus.spanId}-01`);
  });
});

test.run();
