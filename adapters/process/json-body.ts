/**
 * JSON request bodies on a Fastify server, with a nesting limit. A body nested deeper than
 * MAX_JSON_DEPTH is refused (400 too_deep) after one linear scan of its text, before JSON.parse:
 * parsing deep JSON is cheap, but every recursive walk after it (validation, JSON.stringify on
 * publish or append) overflows the stack. No storeflow input is nested more than 4 levels.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';

export const MAX_JSON_DEPTH = 32;

/** The offset where nesting first goes deeper than `max`, or -1. Brackets inside strings do not count. */
export function nestingBeyond(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // a string: skip to its closing quote
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 || c === 123) {
      if (++depth > max) return i;
    } else if (c === 93 || c === 125) depth--;
  }
  return -1;
}

export const tooDeep = (max = MAX_JSON_DEPTH) => new AppError('too_deep', `JSON nested deeper than ${max} levels`);

/**
 * Replaces Fastify's application/json parser with one that checks the nesting first and then runs
 * Fastify's own (prototype poisoning refused as before), and reads curl's form-encoded `-d` bodies
 * (the seeds' examples) the same way.
 */
export function useJsonBodies(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  const parser = (req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (nestingBeyond(text, maxDepth) >= 0) return done(tooDeep(maxDepth), undefined);
    parse(req, text, done);
  };
  // a form-encoded body that is not JSON was meant as a form: it is told the body must be JSON, not that its
  // "content-type is set to 'application/json'" (the parser's words, wrong for it)
  const formParser = (req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) =>
    parser(req, body, (err, value) => done(err && !(err instanceof AppError) ? notJson(req.headers['content-type']) : err, value));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parser);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, formParser);
}

/** 415: the body must be JSON; `contentType` is what came, `read` whether its text was read (and was not JSON). */
export const notJson = (contentType: string | undefined, read = true) =>
  new AppError(
    'unsupported_media_type',
    `the body must be JSON; it came as ${contentType ?? 'no content type'}${read ? ' and is not JSON' : ''} (with curl: -H 'content-type: application/json' -d '{...}')`,
  );
