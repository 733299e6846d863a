/** The AMQP source (when AMQP_URL is set): hostile bodies and routing keys on storeflow's exchange, with publisher confirms. */
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { AMQP_EXCHANGE, MAX_AMQP_BODY } from '../../adapters/edges/amqp-source.ts';
import { hostileBody } from './inputs.ts';
import { show, type FuzzPath, type Outcome, type PathContext } from './run.ts';
import { FIELDS } from './templates.ts';

export function amqpPath(c: PathContext, url: string, tag: string): FuzzPath {
  return {
    name: `amqp ${AMQP_EXCHANGE}`,
    async run(stats, rng) {
      const conn = await amqp.connect(url, { timeout: 5000 });
      conn.on('error', () => {});
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => {});
      try {
        await c.each(stats, c.count, c.concurrency * 2, async (i) => {
          const r = rng.fork(i);
          const key = r.pick(['', '#', 'prediction', 'focus.Men', 'a.b.c', 'x'.repeat(255), '\u00e9\u00e9', 'a..b', '*', 'NUL\u0000', '𝕏.𝕏']);
          const body = hostileBody(r, { customer_id: '1', ts: c.now, dep: 'Men' }, { limit: MAX_AMQP_BODY, fields: FIELDS });
          const res = await Promise.race([
            new Promise<string>((ok) => {
              try {
                ch.publish(AMQP_EXCHANGE, key, body.bytes, { messageId: r.chance(0.5) ? `${tag}-${i}` : undefined }, (err) =>
                  ok(err ? `nack: ${err.message}` : 'ok'),
                );
              } catch (err) {
                ok(`client refused: ${(err as Error).message}`);
              }
            }),
            sleep(c.timeoutMs).then(() => 'hang'),
          ]);
          const outcome: Outcome = res === 'ok' ? 'ok' : res === 'hang' ? 'hang' : res.startsWith('client refused') ? 'refused' : 'reset';
          return [outcome, () => `${body.kind} key ${JSON.stringify(key.slice(0, 40))} ${show(body.bytes)} → ${res}`];
        });
      } finally {
        await conn.close().catch(() => {});
      }
    },
  };
}
