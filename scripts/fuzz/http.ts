/** The HTTP sender: one exchange with a raw request target on loopback (kept-alive sockets), and its outcome. */
import { Agent, request } from 'node:http';
import type { Kind } from './inputs.ts';
import type { Outcome } from './run.ts';

export interface HttpAnswer {
  status: number;
  text: string;
  error?: string;
  hang?: boolean;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** Closes the kept-alive sockets (at the end of the run). */
export function closeHttp(): void {
  agent.destroy();
}

/** One HTTP exchange with a raw request target; never throws. */
export function http(
  method: string,
  port: number,
  target: string,
  body: Buffer | undefined,
  headers: Record<string, string>,
  timeoutMs: number,
  retried = false,
): Promise<HttpAnswer> {
  return new Promise((ok) => {
    let settled = false;
    const done = (r: HttpAnswer) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        ok(r);
      }
    };
    let req: ReturnType<typeof request>;
    try {
      req = request({
        host: '127.0.0.1',
        port,
        method,
        path: target,
        agent,
        headers: { ...(body ? { 'content-length': String(body.length) } : {}), ...headers },
      });
    } catch (err) {
      return ok({ status: 0, text: '', error: `client refused the request: ${(err as Error).message}` });
    }
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0, text: '', hang: true });
    }, timeoutMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        if (size < 4096) chunks.push(d);
        size += d.length;
      });
      res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
      res.on('error', (err) => done({ status: res.statusCode ?? 0, text: '', error: err.message }));
    });
    req.on('error', (err) => {
      // a kept-alive socket the server closed as we reused it: send again on a new one (Node's advice)
      if (req.reusedSocket && !retried && (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
        clearTimeout(timer);
        settled = true;
        ok(http(method, port, target, body, headers, timeoutMs, true));
        return;
      }
      done({ status: 0, text: '', error: err.message });
    });
    if (body) req.end(body);
    else req.end();
  });
}

export function classifyHttp(r: { status: number; error?: string; hang?: boolean }, kind: Kind): Outcome {
  if (r.hang) return 'hang';
  if (r.status >= 500) return '5xx';
  if (r.status >= 400) return 'refused';
  if (r.status > 0) return 'ok';
  // a connection cut while an oversized body was still being sent: refused before it was read
  return kind === 'oversized' || /client refused/.test(r.error ?? '') ? 'refused' : 'reset';
}
