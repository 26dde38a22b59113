/**
 * The smsAU prober of the chaos suite, in a worker thread: its timings are not
 * skewed by the main thread's event loop, which is busy generating the rest of
 * the traffic. Each probe is a new connection (as 管家助理 makes) from its own
 * address with the right password; one result is posted per probe.
 */
import { request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

export interface ProberOptions {
  port: number;
  from: string;
  path: string;
  everyMs: number;
  timeoutMs: number;
}

export interface ProbeResult {
  /** Date.now() when the probe started. */
  at: number;
  ms: number;
  /** The answer body, or null when there was none. */
  body: string | null;
  error?: string;
}

function probe(o: ProberOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: o.port, localAddress: o.from, path: o.path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)), o.timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', reject);
    req.end();
  });
}

if (parentPort) {
  const port = parentPort;
  const options = workerData as ProberOptions;
  let running = true;
  port.on('message', (message) => {
    if (message === 'stop') running = false;
  });
  while (running) {
    const at = Date.now();
    const started = performance.now();
    let result: ProbeResult;
    try {
      const body = await probe(options);
      result = { at, ms: performance.now() - started, body };
    } catch (error) {
      result = { at, ms: performance.now() - started, body: null, error: (error as Error).message };
    }
    port.postMessage(result);
    await new Promise((resolve) => setTimeout(resolve, options.everyMs));
  }
  port.close();
}
