/**
 * HTTP and raw TCP to the box from a chosen loopback source address. The box
 * keys its login lock-out on the client address, so each kind of chaos client
 * has its own 127.x.y.z: attackers locking themselves out never lock out the
 * legitimate clients. Linux answers on all of 127.0.0.0/8 without setup.
 */
import http from 'node:http';
import { connect, type Socket } from 'node:net';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface CallOptions {
  port: number;
  /** Source address, in 127.0.0.0/8. */
  from: string;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** false (the default): a new connection, as 管家助理 makes for every request. */
  agent?: http.Agent | false;
}

/**
 * One HTTP exchange; rejects on a connection error, a cut-off answer or no complete
 * answer within the timeout (a deadline, not an idle time: a stream never goes idle).
 */
export function call(o: CallOptions): Promise<Reply> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: o.port, localAddress: o.from, method: o.method ?? 'GET', path: o.path, headers: o.headers ?? {}, agent: o.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(Object.assign(new Error('answer cut off'), { code: 'ECONNRESET' }));
        });
      },
    );
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', reject);
    req.end(o.body);
  });
}

/**
 * Writes bytes as they are (no HTTP client validates them) and collects what comes back
 * until the box closes the connection or the deadline. Never half-closes: Node drops a
 * request whose client ended its side first.
 */
export function rawExchange(port: number, from: string, bytes: Buffer, timeoutMs = 5000): Promise<{ status: number; text: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from });
    const chunks: Buffer[] = [];
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    socket.on('close', () => clearTimeout(deadline));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after an answer is the box closing a connection it refused: keep the answer.
      if (chunks.length === 0) reject(error);
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text, timedOut });
    });
    socket.write(bytes);
  });
}

/** A connected socket from `from`; rejects when the box refuses the connection. */
export function openSocket(port: number, from: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Form encoding as browsers and 管家助理 send it. */
export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}
