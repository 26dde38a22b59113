/**
 * HTTP ingest benchmark: smsAU and smsSnd under 50 concurrent clients
 * (autocannon), against the box running as its own process on the built-in
 * defaults with a fresh database. Prints the figures; exits 1 when p99
 * misses the target.
 *
 *   npm run bench            # or: node dist/bench/http.js [--duration 10] [--connections 50]
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/paths.js';
import { serviceEnvironment } from './lib.js';

const { values } = parseArgs({
  options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } },
});
const DURATION_S = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const TARGET_P99_MS = 20;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await (await fetch(url)).text()) === '1') return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`box did not answer ${url} within ${timeoutMs} ms`);
}

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  requests: number;
}

async function run(name: string, url: string, path: (n: number) => string): Promise<Figures> {
  let n = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: [{ setupRequest: (req) => ({ ...req, path: path(n++) }) }],
  });
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    requests: result.requests.total,
  };
}

const dataDir = mkdtempSync(join(tmpdir(), 'smsbox-bench-'));
const port = await freePort();
// An unlimited account, so every smsSnd is accepted and committed (no "balance too low" shortcut).
const configFile = join(dataDir, 'bench.toml');
writeFileSync(configFile, `[http]\nport = ${port}\nhost = "127.0.0.1"\n[[account]]\nuser = "aaaa"\npassword = "bbbb"\n[storage]\ndata_dir = "${join(dataDir, 'data')}"\n`);
const box = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), 'serve', '--config', configFile], {
  stdio: ['ignore', 'ignore', 'ignore'],
  env: serviceEnvironment(),
});
const base = `http://127.0.0.1:${port}`;
let failed = false;
try {
  await waitFor(`${base}/sms?Msg=smsAU&User=aaaa&PWD=bbbb`, 10_000);
  // Warm-up (JIT, first scrypt, SQLite page cache); start-up time is measured elsewhere.
  await autocannon({ url: `${base}/sms?Msg=smsAU&User=aaaa&PWD=bbbb`, connections: CONNECTIONS, duration: 2 });
  const results = [
    await run('smsAU', base, () => '/sms?Msg=smsAU&User=aaaa&PWD=bbbb'),
    // A new order number in every body, so no request is taken for a retry of another.
    await run('smsSnd', base, (n) => `/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=${encodeURIComponent(`您的订单 ${n} 已发货`)}`),
  ];
  console.log(`HTTP ingest, ${CONNECTIONS} connections, ${DURATION_S} s each, box on its own process (node ${process.version})`);
  console.log('message      req/s     p50 ms   p99 ms   max ms   requests  errors  non-2xx  p99 target');
  for (const r of results) {
    const ok = r.p99 < TARGET_P99_MS && r.errors === 0 && r.non2xx === 0;
    failed ||= !ok;
    console.log(
      `${r.name.padEnd(10)} ${r.rps.toFixed(0).padStart(8)} ${r.p50.toFixed(1).padStart(9)} ${r.p99.toFixed(1).padStart(8)} ${r.max.toFixed(1).padStart(8)} ${String(r.requests).padStart(10)} ${String(r.errors).padStart(7)} ${String(r.non2xx).padStart(8)}  < ${TARGET_P99_MS} ms ${ok ? 'met' : 'MISSED'}`,
    );
  }
} finally {
  box.kill('SIGTERM');
  await new Promise((r) => box.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
