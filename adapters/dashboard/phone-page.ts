/**
 * A shopper's phone on the control plane, at the root only: one address per customer so it can be
 * opened from a QR code or a link.
 *
 *   GET /phone/:customerId                 the page (web/phone.html), open like the page's other files
 *   GET /phone/:customerId/config          that customer's stream (`customer.<id>`) and where their visit starts
 *   GET /phone/:customerId/coupons/:id     a coupon's terms and product names (the offer cards)
 *
 * With a token set (CONTROL_TOKEN, or ESS_API_TOKEN alone) the two calls need the operator's
 * credentials or the customer's signed link (`?until=&sig=`, adapters/dashboard/phone-link.ts): the
 * server hands out that customer's stream and no other, so a shopper sees their own offers only.
 * The page finds its files and the control plane one level up (`<base href="../">`), so it also
 * works behind a path prefix.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { AppError } from '../process/errors.ts';
import { authorized, type Access } from '../process/access.ts';
import { SEGMENT } from './page-stream-key.ts';
import { checkPhoneLink } from './phone-link.ts';

const PHONE_HTML = new URL('../../web/phone.html', import.meta.url);

const Customer = Type.String({ maxLength: 64 });
const LinkQuery = Type.Object({
  until: Type.Optional(Type.String({ maxLength: 16, description: "The signed link's expiry (unix seconds)" })),
  sig: Type.Optional(Type.String({ maxLength: 64, description: "The signed link's signature (HMAC-SHA256, base64url)" })),
});

export interface PhoneRoutesOptions {
  access: Access;
  /** The page config of one customer's stream (adapters/dashboard/index.ts). */
  configOf: (customer: string) => Promise<object>;
  couponOf: (id: number) => Promise<object>;
}

const customerOf = (raw: string) => {
  if (!SEGMENT.test(raw)) throw new AppError('bad_request', 'customer id: 1-64 letters, digits, _ - or :');
  return raw;
};

export function phoneRoutes(o: PhoneRoutesOptions): FastifyPluginAsyncTypebox {
  /** The operator (bearer or cookie) may open any phone; a shopper the one their link was signed for, until it expires. */
  const admit = (req: FastifyRequest, customer: string, link: { until?: string; sig?: string }) => {
    const token = o.access.token;
    if (!token || authorized(req.headers, token)) return;
    const check = checkPhoneLink(token, customer, link);
    if (check.ok) return;
    throw new AppError(check.status === 401 ? 'unauthorized' : 'forbidden', check.message);
  };

  return async (app) => {
    app.get(
      '/phone/:customerId',
      {
        config: { access: 'open' },
        schema: {
          summary: "A shopper's phone: the coupons offered to this customer in this visit, the moment they are published (an HTML page)",
          params: Type.Object({ customerId: Customer }),
        },
      },
      async (req, reply) => {
        customerOf(req.params.customerId);
        const html = await readFile(PHONE_HTML, 'utf8').catch(() => undefined);
        if (html === undefined) throw new AppError('not_found', 'this build has no phone page (web/phone.html)');
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
      },
    );

    app.get(
      '/phone/:customerId/config',
      {
        config: { access: 'open' },
        schema: {
          summary:
            "A shopper's phone's start: that customer's event stream (and its ticket), where their visit starts, the store plan. With a token: the operator's credentials or the customer's signed link (?until=&sig=)",
          params: Type.Object({ customerId: Customer }),
          querystring: LinkQuery,
        },
      },
      async (req) => {
        const customer = customerOf(req.params.customerId);
        admit(req, customer, req.query);
        return o.configOf(customer);
      },
    );

    app.get(
      '/phone/:customerId/coupons/:id',
      {
        config: { access: 'open' },
        schema: {
          summary: "A coupon's terms and product names for a shopper's phone (the same credentials as its config)",
          params: Type.Object({ customerId: Customer, id: Type.Integer({ minimum: 0, maximum: 2147483647 }) }),
          querystring: LinkQuery,
        },
      },
      async (req) => {
        const customer = customerOf(req.params.customerId);
        admit(req, customer, req.query);
        return o.couponOf(req.params.id);
      },
    );
  };
}
