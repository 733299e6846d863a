/**
 * `GET /phone/:customerId`: a shopper's phone (web/phone.html), one address per customer so it can
 * be opened from a QR code or a link. Like the page's other files it is open whatever CONTROL_TOKEN
 * says (the page asks for the token when its calls get 401). The page finds its files and the
 * control plane one level up (`<base href="../">`), so it also works behind a path prefix.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AppError } from '../process/errors.ts';
import { SEGMENT } from './page-stream-key.ts';

const PHONE_HTML = new URL('../../web/phone.html', import.meta.url);

export const phonePage: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/phone/:customerId',
    {
      config: { access: 'open' },
      schema: {
        summary: "A shopper's phone: the coupons offered to this customer in this visit, the moment they are published (an HTML page)",
        params: Type.Object({ customerId: Type.String({ maxLength: 64 }) }),
      },
    },
    async (req, reply) => {
      if (!SEGMENT.test(req.params.customerId)) throw new AppError('bad_request', 'customer id: 1-64 letters, digits, _ - or :');
      const html = await readFile(PHONE_HTML, 'utf8').catch(() => undefined);
      if (html === undefined) throw new AppError('not_found', 'this build has no phone page (web/phone.html)');
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
    },
  );
};
