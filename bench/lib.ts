/** Helpers shared by the benchmarks: ports, the box as a child process, latency figures, load average. */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';

export const CLI = join(packageRoot, 'dist/src/cli.js');

/**
 * The environment smsbox.service gives the box on the Pi (its Environment=
 * lines), on top of this process's: the benchmarks measure the box as shipped.
 */
export function serviceEnvironment(): NodeJS.ProcessEnv {
  const unit = readFileSync(join(packageRoot, 'image/rootfs/etc/systemd/system/smsbox.service'), 'utf8');
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [, key, value] of unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/gm)) env[key!] = value!;
  return env;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** "load 1.23 1.10 0.90": printed next to every figure, as other work may share the CPU. */
export function load(): string {
  return `load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
}

export interface BoxConfig {
  port: number;
  dataDir: string;
  device?: string;
  sendMs?: number;
  extra?: string;
}

/**
 * The account the benchmarks send as. Not the factory password: boxes on a
 * pseudo-terminal or an absent device count as having a real modem, and
 * there the factory password opens nothing.
 */
export const BENCH_PASSWORD = 'bench-pw-5d2c';
export const BENCH_AUTH = `User=aaaa&PWD=${BENCH_PASSWORD}`;

export function writeConfig(file: string, c: BoxConfig): void {
  writeFileSync(
    file,
    `[http]\nport = ${c.port}\nhost = "127.0.0.1"\n[[account]]\nuser = "aaaa"\npassword = "${BENCH_PASSWORD}"\n` +
      `[schedule]\nquiet_hours = ""\nmax_per_hour = 0\nmax_per_day = 0\nclock = "system"\n` +
      `[modem]\ndevice = "${c.device ?? 'simulator'}"\nhat = "sim7600"\n` +
      // No balance SMS of the box's own (issue 17) among the messages a bench counts.
      `[sim]\ncheck_balance = false\n` +
      (c.sendMs ? `[simulator]\nsend_ms = ${c.sendMs}\n` : '') +
      `[storage]\ndata_dir = "${c.dataDir}"\n${c.extra ?? ''}`,
  );
}

export interface RunningBox {
  child: ChildProcess;
  base: string;
  /** Milliseconds from spawn to the first smsAU answered "1". */
  startupMs: number;
  stop(): Promise<void>;
}

export async function startBoxProcess(configFile: string, port: number, timeoutMs = 30_000): Promise<RunningBox> {
  const started = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: serviceEnvironment() });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`box exited: ${stderr}`);
    try {
      if ((await (await fetch(`${base}/sms?Msg=smsAU&${BENCH_AUTH}`)).text()) === '1') break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`box did not answer smsAU within ${timeoutMs} ms`);
    await sleep(5);
  }
  const startupMs = performance.now() - started;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    base,
    startupMs,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Resident set size and its peak of a process, from /proc (Linux). */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export interface LoadFigures {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  errors: number;
  non2xx: number;
}

/** autocannon against one URL pattern; `path(n)` gives the n-th request's path. */
export async function hammer(base: string, connections: number, durationS: number, path: (n: number) => string, init: { method?: string } = {}): Promise<LoadFigures> {
  let n = 0;
  const result = await autocannon({
    url: base,
    connections,
    duration: durationS,
    requests: [{ ...(init.method ? { method: init.method as 'GET' } : {}), setupRequest: (req) => ({ ...req, path: path(n++) }) }],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** Sequential GETs; returns sorted latencies in ms. */
export async function timeGets(url: string, times: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    out.push(performance.now() - started);
  }
  return out.sort((a, b) => a - b);
}

export const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]!;
