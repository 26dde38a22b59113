import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a fake robot received. */
export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON (null when it is not JSON). */
  json: any;
}

export interface RobotAnswer {
  status?: number;
  /** An object is sent as JSON; a string as it is. */
  body: unknown;
}

export interface FakeRobot {
  /** The robot's webhook URL, e.g. http://127.0.0.1:PORT/robot/send?access_token=T */
  url: string;
  requests: ReceivedRequest[];
  /** Answers to give, in order; when they run out, `fallback` is given. */
  answers: RobotAnswer[];
  close(): Promise<void>;
}

/**
 * A local HTTP server on 127.0.0.1 playing a platform's robot: it records each
 * request as received (path, headers, body) and answers from a script, so a
 * test checks the JSON and the signature the way the platform would, and
 * decides what the platform says.
 */
export async function fakeRobot(path: string, fallback: RobotAnswer): Promise<FakeRobot> {
  const requests: ReceivedRequest[] = [];
  const answers: RobotAnswer[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        json = null;
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json });
      const answer = answers.shift() ?? fallback;
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status ?? 200, { 'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json' });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens: a robot that is down. */
export async function deadUrl(path = '/hook'): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}
