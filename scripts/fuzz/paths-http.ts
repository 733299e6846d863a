/** The control plane's paths: its routes read from its OpenAPI, every POST body and the GET paths and queries. */
import { hostileBody } from './inputs.ts';
import { hostileQuery, hostileSegment } from './inputs-url.ts';
import { classifyHttp, http } from './http.ts';
import { show, type FuzzPath, type PathContext } from './run.ts';
import { FIELDS, postTemplates } from './templates.ts';

export interface GetRoute {
  path: string;
  params: string[];
  query: string[];
}

/** The control plane's routes, from its OpenAPI at /docs/json (the docs themselves left out). */
export async function discoverRoutes(port: number): Promise<{ posts: string[]; gets: GetRoute[] }> {
  const doc = (await fetch(`http://127.0.0.1:${port}/docs/json`)
    .then((r) => r.json())
    .catch(() => ({}))) as { paths?: Record<string, { post?: unknown; get?: { parameters?: { in: string; name: string }[] } }> };
  const posts: string[] = [];
  const gets: GetRoute[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    if (path.startsWith('/docs')) continue;
    if (ops.post) posts.push(path);
    if (ops.get)
      gets.push({
        path,
        params: (ops.get.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
        query: (ops.get.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      });
  }
  posts.sort();
  return { posts, gets };
}

export function postPath(c: PathContext, port: number, route: string, limit: number): FuzzPath {
  const template = postTemplates(c.now).find(([re]) => re.test(route))?.[1] ?? {};
  return {
    name: `http POST ${route}`,
    run: (stats, rng) =>
      c.each(stats, c.count, c.concurrency, async (i) => {
        const r = rng.fork(i);
        const body = hostileBody(r, template, { limit, fields: FIELDS });
        const type = r.chance(0.1) ? 'application/x-www-form-urlencoded' : r.chance(0.04) ? 'text/plain' : r.chance(0.03) ? '' : 'application/json';
        const res = await http('POST', port, route, body.bytes, type ? { 'content-type': type } : {}, c.timeoutMs);
        return [
          classifyHttp(res, body.kind),
          () => `${body.kind} ${show(body.bytes)} (${type || 'no content-type'}) → ${res.hang ? 'no answer' : res.status || res.error} ${res.text}`,
        ];
      }),
  };
}

export function getPaths(c: PathContext, port: number, routes: GetRoute[]): FuzzPath {
  return {
    name: `http GET paths, queries (${routes.length} routes)`,
    run: (stats, rng) =>
      c.each(stats, c.count, c.concurrency, async (i) => {
        const r = rng.fork(i);
        const route = r.pick(routes);
        let target = route.path.replace(/\{[^}]+\}|:[A-Za-z_]+/g, () => hostileSegment(r, ['1', '7']));
        if (r.chance(0.6) || route.query.length) target += hostileQuery(r, route.query);
        const res = await http('GET', port, target, undefined, {}, c.timeoutMs);
        return [
          classifyHttp(res, 'valid'),
          () => `GET ${JSON.stringify(target.slice(0, 200))} → ${res.hang ? 'no answer' : res.status || res.error} ${res.text}`,
        ];
      }),
  };
}
