/**
 * HTTP ingest against Kannel, in the same run on the same machine: Debian's
 * Kannel (bearerbox + smsbox, a `fake` SMSC fed by kannel-extras' fakesmsc,
 * store-type = file) taking `sendsms` requests, and the box taking `smsSnd`,
 * each under the same number of concurrent clients (autocannon) for the same
 * time. Target: the box's throughput ≥ 1.5 × Kannel's and its p99 ≤ Kannel's.
 * The script writes Kannel's config, starts and stops its processes.
 *
 * Durability: the box answers "1" after the message is committed to SQLite
 * (WAL, group commit); Kannel answers "Accepted for delivery" once bearerbox
 * has the message in its queue, which store-type = file writes to its store
 * file (bearerbox's store log, dumped every store-dump-freq seconds).
 *
 *   apt-get install -y kannel kannel-extras
 *   npm run bench:kannel     # or: node dist/bench/kannel.js [--duration 10] [--connections 50]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, hammer, load, sleep, startBoxProcess, writeConfig, type LoadFigures, BENCH_AUTH } from './lib.js';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } } });
const DURATION_S = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const TARGET_THROUGHPUT_RATIO = 1.5;

const BEARERBOX = '/usr/sbin/bearerbox';
const SMSBOX = '/usr/sbin/smsbox';
const FAKESMSC = '/usr/lib/kannel/test/fakesmsc';
for (const binary of [BEARERBOX, SMSBOX, FAKESMSC]) {
  if (!existsSync(binary)) {
    console.error(`${binary} is missing: apt-get install -y kannel kannel-extras`);
    process.exit(2);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'smsbox-bench-kannel-'));
const [adminPort, smsboxPort, smscPort, sendsmsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
const conf = join(dir, 'kannel.conf');
writeFileSync(
  conf,
  `group = core
admin-port = ${adminPort}
admin-password = bench
status-password = bench
admin-interface = 127.0.0.1
smsbox-port = ${smsboxPort}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "${dir}/bearerbox.log"
log-level = 2
access-log = "${dir}/access.log"
store-type = file
store-location = "${dir}/kannel.store"
store-dump-freq = 5

group = smsc
smsc = fake
smsc-id = FAKE
port = ${smscPort}
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${smsboxPort}
sendsms-port = ${sendsmsPort}
sendsms-interface = 127.0.0.1
log-file = "${dir}/smsbox.log"
log-level = 2
access-log = "${dir}/smsbox-access.log"

group = sendsms-user
username = bench
password = bench
concatenation = true
max-messages = 10

group = sms-service
keyword = default
text = "ok"
`,
);

const children: ChildProcess[] = [];
const stderrTails = new Map<string, string>();
function start(binary: string, args: string[]): ChildProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Kannel logs to stderr as well: keep the pipe drained and the tail for errors.
  child.stderr!.on('data', (c: Buffer) => stderrTails.set(binary, ((stderrTails.get(binary) ?? '') + c.toString()).slice(-2000)));
  child.once('exit', (code) => stderrTails.set(binary, `${stderrTails.get(binary) ?? ''}\n(exited ${code})`));
  children.push(child);
  return child;
}

async function waitForHttp(url: string, ok: (status: number) => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (ok((await fetch(url)).status)) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms; bearerbox log:\n${readTail(join(dir, 'bearerbox.log'))}\nsmsbox log:\n${readTail(join(dir, 'smsbox.log'))}\nstderr: ${JSON.stringify([...stderrTails])}`);
    await sleep(100);
  }
}
const readTail = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '(none)');

const kannelVersion = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'kannel'], { encoding: 'utf8' }).stdout || '?';
let failed = false;
let kannel: LoadFigures | null = null;
let box: LoadFigures | null = null;
const loads: Record<string, string> = {};
try {
  start(BEARERBOX, ['-v', '4', conf]); // -v 4: no debug lines on stderr, as the box logs at info
  await waitForHttp(`http://127.0.0.1:${adminPort}/status?password=bench`, (s) => s === 200);
  start(FAKESMSC, ['-v', '4', '-H', '127.0.0.1', '-r', String(smscPort), '-i', '3600', '-m', '1', '100 200 text nop']);
  start(SMSBOX, ['-v', '4', conf]);
  const sendsms = (n: number) => `/cgi-bin/sendsms?username=bench&password=bench&from=10690000&to=13800138000&text=${encodeURIComponent(`order ${n} shipped`)}`;
  await waitForHttp(`http://127.0.0.1:${sendsmsPort}${sendsms(-1)}`, (s) => s === 202);

  const boxPort = await freePort();
  const boxConfig = join(dir, 'box.toml');
  writeConfig(boxConfig, { port: boxPort, dataDir: join(dir, 'box-data'), sendMs: 50 });
  const boxProcess = await startBoxProcess(boxConfig, boxPort);
  try {
    const smsSnd = (n: number) => `/sms?Msg=smsSnd&${BENCH_AUTH}&Tel=13800138000&Body=${encodeURIComponent(`order ${n} shipped`)}`;
    // Warm-up of both, then the measured runs back to back.
    await hammer(`http://127.0.0.1:${sendsmsPort}`, CONNECTIONS, 2, (n) => sendsms(1e6 + n));
    await hammer(boxProcess.base, CONNECTIONS, 2, (n) => smsSnd(1e6 + n));
    loads['kannel'] = load();
    kannel = await hammer(`http://127.0.0.1:${sendsmsPort}`, CONNECTIONS, DURATION_S, sendsms);
    loads['box'] = load();
    box = await hammer(boxProcess.base, CONNECTIONS, DURATION_S, smsSnd);
  } finally {
    await boxProcess.stop();
  }
} finally {
  for (const child of children.reverse()) {
    if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(5000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}

if (kannel && box) {
  console.log(`HTTP ingest, ${CONNECTIONS} connections, ${DURATION_S} s each, same run (Kannel ${kannelVersion}, node ${process.version})`);
  console.log('gateway              req/s   p50 ms   p99 ms   max ms  requests  errors  non-2xx  load average');
  const line = (name: string, r: LoadFigures, l: string) =>
    console.log(`${name.padEnd(18)} ${r.rps.toFixed(0).padStart(7)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${r.max.toFixed(1).padStart(8)} ${String(r.requests).padStart(9)} ${String(r.errors).padStart(7)} ${String(r.non2xx).padStart(8)}  ${l}`);
  line('Kannel sendsms', kannel, loads['kannel']!);
  line('box smsSnd', box, loads['box']!);
  const ratio = box.rps / kannel.rps;
  const throughputOk = ratio >= TARGET_THROUGHPUT_RATIO;
  const p99Ok = box.p99 <= kannel.p99;
  const cleanOk = box.errors + box.non2xx === 0;
  console.log(`throughput box/Kannel ${ratio.toFixed(2)}× (target ≥ ${TARGET_THROUGHPUT_RATIO}×) ${throughputOk ? 'met' : 'MISSED'}; p99 box ${box.p99.toFixed(1)} ms vs Kannel ${kannel.p99.toFixed(1)} ms (target ≤) ${p99Ok ? 'met' : 'MISSED'}${cleanOk ? '' : '; the box had errors'}`);
  failed = !(throughputOk && p99Ok && cleanOk);
} else failed = true;
process.exitCode = failed ? 1 : 0;
