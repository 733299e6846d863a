/** The WebSocket upgrade sender: a raw upgrade request on its own socket, read to its first answer. */
import { connect } from 'node:net';

export interface UpgradeAnswer {
  status: number;
  close?: number;
  hang?: boolean;
  reset?: boolean;
}

/** A raw WebSocket upgrade: the status line, then the first frame (a close code) or silence. */
export function upgrade(port: number, target: string, extra: string, timeoutMs: number): Promise<UpgradeAnswer> {
  return new Promise((ok) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let status = 0;
    let settled = false;
    const done = (r: UpgradeAnswer) => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        clearTimeout(quiet);
        socket.destroy();
        ok(r);
      }
    };
    const timer = setTimeout(() => done({ status, hang: true }), timeoutMs);
    let quiet: NodeJS.Timeout | undefined;
    socket.on('error', () => done({ status, reset: status === 0 }));
    socket.on('close', () => done({ status, reset: status === 0 }));
    socket.on('connect', () => {
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`,
      );
    });
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!status) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf.subarray(0, end).toString('latin1'))?.[1] ?? 0);
        buf = buf.subarray(end + 4);
        if (status !== 101) return done({ status });
        quiet = setTimeout(() => done({ status }), 150); // open and quiet (a live tail): fine
      }
      if (buf.length >= 2) {
        const opcode = buf[0] & 0x0f;
        if (opcode === 0x8) return done({ status, close: buf.length >= 4 ? buf.readUInt16BE(2) : 1005 });
        return done({ status }); // a message: the stream works
      }
    });
  });
}
