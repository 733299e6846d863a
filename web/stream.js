// A page's event stream: the config route hands out the stream (and, with CONTROL_TOKEN, a ticket),
// the page connects to the gateway's public WebSocket from an ordinal, and reconnects by itself with a
// fresh config (a new process may hand out a new stream: the log and its ordinals are the same).
// Shared by the manager's screen, a shopper's phone and the events view.
import { json } from './api.js';

/** The stream's WebSocket address from a config, starting at ordinal `from`. */
export function streamUrl(cfg, from) {
  const base = cfg.stream.location ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.hostname}:${cfg.stream.port}${cfg.stream.path}`;
  // with CONTROL_TOKEN the stream wants a ticket (a browser cannot put a header on a WebSocket); each connect fetches a fresh one
  return `${base}?stream_from_ordinal=${from}${cfg.stream.ticket ? `&ticket=${encodeURIComponent(cfg.stream.ticket)}` : ''}`;
}

/**
 * Connects now and after every drop. `configUrl()`: the config to fetch; `from(cfg)`: the ordinal to
 * start at (the last one seen + 1 on a reconnect: no gap, no duplicate); `onConfig(cfg)` before each
 * connect; `onMessage(text)`; `onStatus(status, text)` with connecting, live, reconnecting. `stats`
 * counts connects and closes for tests. A 401 leaves it idle until `resume()` (after the token form);
 * a 403 too, after `onRefused(err)`.
 */
export function connectStream({ configUrl, from, onConfig, onMessage, onStatus, onRefused, stats = { connects: 0, closes: [] } }) {
  let ws;
  let timer = 0;
  let retryMs = 500;
  let generation = 0;

  async function connect() {
    const mine = ++generation;
    let cfg;
    try {
      cfg = await json(configUrl());
    } catch (err) {
      if (mine !== generation) return;
      if (err.status === 401) return; // the token form is up; a login resumes
      if (err.status === 403) return onRefused?.(err); // a phone link refused (expired, changed): retrying cannot help
      return retry(`control plane unreachable (${err.message})`);
    }
    if (mine !== generation) return;
    onConfig?.(cfg);
    const start = from(cfg);
    stats.lastConnectFrom = start;
    const socket = new WebSocket(streamUrl(cfg, start));
    ws = socket;
    socket.onopen = () => {
      retryMs = 500;
      stats.connects++;
      onStatus('live', 'live');
    };
    socket.onmessage = (e) => onMessage(e.data);
    socket.onclose = (e) => {
      if (ws !== socket) return;
      stats.closes.push(e.code);
      retry(e.code === 1001 ? 'server restarting' : `connection closed (${e.code})`);
    };
  }

  function retry(why) {
    onStatus('reconnecting', `reconnecting… ${why}`);
    ws = undefined;
    timer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5000);
  }

  function stop() {
    generation++;
    clearTimeout(timer);
    const socket = ws;
    ws = undefined;
    socket?.close();
  }

  onStatus('connecting', 'connecting…');
  connect();
  return {
    /** After a login: connects unless connected. */
    resume() {
      if (ws) return;
      onStatus('connecting', 'connecting…');
      stop();
      connect();
    },
    /** Connects again at once (a new filter or start): the current socket is closed and forgotten. */
    restart() {
      stop();
      retryMs = 500;
      onStatus('connecting', 'connecting…');
      connect();
    },
  };
}
