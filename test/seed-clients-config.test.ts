/** The seeds' own variable spellings and values, as their users set them (issue 19). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig, type Env } from '../schemas/env.ts';

const config = (env: Env) => {
  const r = parseConfig(env);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
};

test('ESS_AMPQ_URL (seed 004) is an alias of AMQP_URL; the exchange is event-streams, direct, by default', () => {
  assert.equal(config({ ESS_AMPQ_URL: 'amqp://es:cheddar1963@localhost:5672' }).gateway, {
    ...config({}).gateway,
    amqpUrl: 'amqp://es:cheddar1963@localhost:5672',
    amqpExchange: 'event-streams',
    amqpExchangeType: 'direct',
  });
  assert.is(config({ AMQP_URL: 'amqp://a:b@h', ESS_AMPQ_URL: 'amqp://a:b@h' }).gateway.amqpUrl, 'amqp://a:b@h');
  assert.is(config({ AMQP_EXCHANGE_TYPE: 'Topic' }).gateway.amqpExchangeType, 'topic');
});

test('AMQP_URL and ESS_AMPQ_URL that differ are refused without showing either password', () => {
  const r = parseConfig({ AMQP_URL: 'amqp://a:first-secret@h', ESS_AMPQ_URL: 'amqp://a:second-secret@h' });
  assert.equal(r, { ok: false, problems: ['AMQP_URL and ESS_AMPQ_URL are aliases but differ (values not shown)'] });
  const bad = parseConfig({ ESS_AMPQ_URL: 'http://a:third-secret@h' });
  assert.ok(!bad.ok && bad.problems.length === 1 && bad.problems[0].startsWith('ESS_AMPQ_URL:') && !bad.problems[0].includes('third-secret'));
});

test("CONSUME_FROM takes EARLIEST / Latest in any case (seed 001's player upper-cased it); an ISO time is kept as given", () => {
  assert.equal(
    ['EARLIEST', 'Earliest', 'earliest', 'LATEST', 'latest', ' Latest '].map((v) => config({ CONSUME_FROM: v }).simulator.consumeFrom),
    ['earliest', 'earliest', 'earliest', 'latest', 'latest', 'latest'],
  );
  assert.is(config({ CONSUME_FROM: '2010-03-01T09:00:00Z' }).simulator.consumeFrom, '2010-03-01T09:00:00Z');
  assert.not.ok(parseConfig({ CONSUME_FROM: 'yesterday' }).ok);
});

test.run();
