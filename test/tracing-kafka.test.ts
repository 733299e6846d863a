/**
 * One OpenTelemetry trace per input on Kafka: a focus produced with a chosen `traceparent` header yields storeflow's
 * spans in that trace (receive under the producer's span, the recommender's step under it, publish under the step),
 * and the prediction on its topic carries the trace on in its own `traceparent` header. Spans go to an OTLP/HTTP
 * receiver the test starts; Kafka is the project's own local broker (test/kafka-helpers.ts: skipped with the reason
 * where java or mvn is missing, a failure in CI).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Consumer, MessagesStreamModes, Producer, compatibilityPartitioner } from '@platformatic/kafka';
import { kafkaTopic } from '../adapters/edges/kafka.ts';
import { ensureTopics, kafkaClient, kafkaForTests, type KafkaForTests } from './kafka-helpers.ts';
import { otlpReceiver } from './otlp-receiver.ts';
import { startTestApp, uniqueName, waitFor, type TestApp } from './helpers.ts';

const broker: KafkaForTests = await kafkaForTests('tracing-kafka.test');
if ('skip' in broker) console.log(broker.skip);
test.after(async () => {
  if (!('skip' in broker)) await broker.stop();
});
const it = 'skip' in broker ? test.skip : test;

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

it('a focus with a traceparent header: receive, step, publish in its trace; the prediction carries it on', async () => {
  if ('skip' in broker) return;
  const name = uniqueName('tk');
  const receiver = await otlpReceiver();
  const brokers = broker.bootstrap.split(',');
  let app: TestApp | undefined;
  const producer = new Producer({ clientId: 'storeflow-test', bootstrapBrokers: brokers, partitioner: compatibilityPartitioner, retries: 20 });
  const consumer = new Consumer({ clientId: 'storeflow-test', bootstrapBrokers: brokers, groupId: `${name}-reader`, maxWaitTime: 50, retries: 20 });
  try {
    app = await startTestApp({
      BOOTSTRAP_SERVERS: broker.bootstrap,
      MQTT_TOPIC_PREFIX: `${name}.`,
      GROUP_ID: name,
      ROLES: 'recommender',
      AUTO_SEED: 'true',
      POLL_TIMEOUT: '50',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    const t = app.config.topics;
    await ensureTopics(kafkaClient(broker.bootstrap), [t.enter, t.focus, t.prediction].map(kafkaTopic));
    const predictions: { traceparent?: string; body: unknown }[] = [];
    const stream = await consumer.consume({ topics: [kafkaTopic(t.prediction)], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    stream.on('data', (m) => {
      const header = m.headerEntries.find(([k]) => k?.toString() === 'traceparent');
      predictions.push({ traceparent: header?.[1]?.toString(), body: JSON.parse(m.value?.toString() ?? 'null') });
    });
    const send = (topic: string, body: object, traceparent?: string) =>
      producer.send({
        messages: [
          {
            topic: kafkaTopic(topic),
            key: Buffer.from('100'),
            value: Buffer.from(JSON.stringify(body)),
            ...(traceparent ? { headers: new Map([[Buffer.from('traceparent'), Buffer.from(traceparent)]]) } : {}),
          },
        ],
      });
    await send(t.enter, { id: '100', ts: 1764000000 });
    await send(t.focus, { id: '100', ts: 1764000060, dep: 'Boys' }, `00-${TRACE}-${PARENT}-01`);
    await waitFor(() => predictions.length === 1, 30_000, 'the prediction');
    const mine = await waitFor(
      () => {
        const m = new Map(receiver.spans.filter((s) => s.traceId === TRACE).map((s) => [s.name, s]));
        return m.has(`publish ${t.prediction}`) ? m : undefined;
      },
      15_000,
      "the focus's spans",
    );
    const receive = mine.get(`receive ${t.focus}`);
    const step = mine.get('step recommender');
    const publish = mine.get(`publish ${t.prediction}`);
    assert.ok(receive && step && publish);
    assert.equal(
      { receiveParent: receive.parentSpanId, stepParent: step.parentSpanId, publishParent: publish.parentSpanId, header: predictions[0].traceparent },
      { receiveParent: PARENT, stepParent: receive.spanId, publishParent: step.spanId, header: `00-${TRACE}-${publish.spanId}-01` },
    );
    await stream.close();
  } finally {
    await consumer.close(true).catch(() => {});
    await producer.close().catch(() => {});
    await app?.close();
    await receiver.close();
  }
});

test.run();
