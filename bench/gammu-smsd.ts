/**
 * Modem duty cycle against gammu-smsd: Debian's gammu-smsd (SQLite backend)
 * and the box each send the same 200 messages through `smsbox simulate-modem`
 * on a pseudo-terminal at the same time per segment. Prints messages per
 * minute of each and the ratio to the modem's own limit (60,000 / send-ms per
 * minute for one-segment messages). Target: the box ≥ 95 % of the limit.
 * The box uses AT+CMMS=2 where its HAT profile allows it (sim7600 does).
 *
 *   apt-get install -y gammu-smsd libdbd-sqlite3 socat
 *   npm run bench:gammu      # or: node dist/bench/gammu-smsd.js [--messages 200] [--send-ms 200]
 */
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSimulator } from '../test/simulator/pty-process.js';
import { freePort, load, sleep, startBoxProcess, writeConfig, BENCH_AUTH } from './lib.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '200' }, 'send-ms': { type: 'string', default: '200' } } });
const MESSAGES = Number(values.messages);
const SEND_MS = Number(values['send-ms']);
const TARGET_RATIO = 0.95;
const LIMIT_PER_MIN = 60_000 / SEND_MS;
const SCHEMA = '/usr/share/doc/gammu-smsd/examples/sqlite.sql';
if (spawnSync('gammu-smsd', ['--version']).error || !existsSync(SCHEMA)) {
  console.error('gammu-smsd is missing: apt-get install -y gammu-smsd libdbd-sqlite3');
  process.exit(2);
}

const bodies = Array.from({ length: MESSAGES }, (_, i) => `Your order ${i} has shipped`);

/** Messages per minute from the simulator's transmissions: first to last, as the limit counts send time only. */
async function timeTransmissions(sim: Awaited<ReturnType<typeof startSimulator>>, timeoutMs: number): Promise<{ perMin: number; firstToLastS: number; count: number }> {
  const stamps: number[] = [];
  sim.child.stdout.on('data', () => {
    while (stamps.length < sim.transmitted.length) stamps.push(performance.now());
  });
  await sim.waitForTransmitted(MESSAGES, timeoutMs);
  while (stamps.length < sim.transmitted.length) stamps.push(performance.now());
  const firstToLastS = (stamps[MESSAGES - 1]! - stamps[0]!) / 1000;
  return { perMin: ((MESSAGES - 1) / firstToLastS) * 60, firstToLastS, count: sim.transmitted.length };
}

async function runGammu(): Promise<{ perMin: number; firstToLastS: number; count: number; load: string }> {
  const sim = await startSimulator(['--send-ms', String(SEND_MS), '--boot-ms', '50']);
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-bench-gammu-'));
  const dbFile = join(dir, 'smsd.db');
  const db = new Database(dbFile);
  db.exec(readFileSync(SCHEMA, 'utf8'));
  const insert = db.prepare("INSERT INTO outbox (DestinationNumber, TextDecoded, Coding, CreatorID) VALUES (?, ?, 'Default_No_Compression', 'bench')");
  db.transaction(() => bodies.forEach((body, i) => insert.run(`+86138${String(i).padStart(8, '0')}`, body)))();
  db.close();
  const rc = join(dir, 'smsdrc');
  writeFileSync(
    rc,
    `[gammu]\ndevice = ${sim.link}\nconnection = at115200\n\n[smsd]\nservice = sql\ndriver = sqlite3\ndatabase = smsd.db\ndbdir = ${dir}/\n` +
      `logfile = ${join(dir, 'smsd.log')}\ndebuglevel = 0\ncommtimeout = 1\nsendtimeout = 30\nreceivefrequency = 3600\nstatusfrequency = 0\nloopsleep = 0\ncheckbattery = 0\ncheckSignal = 0\n`,
  );
  const started = load();
  const smsd = spawn('gammu-smsd', ['-c', rc], { stdio: 'ignore' });
  try {
    return { ...(await timeTransmissions(sim, MESSAGES * SEND_MS * 5 + 60_000)), load: started };
  } catch (error) {
    console.error(`gammu-smsd log tail:\n${existsSync(join(dir, 'smsd.log')) ? readFileSync(join(dir, 'smsd.log'), 'utf8').split('\n').slice(-20).join('\n') : '(none)'}`);
    throw error;
  } finally {
    smsd.kill('SIGTERM');
    await Promise.race([new Promise((r) => smsd.once('exit', r)), sleep(5000)]);
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runBox(): Promise<{ perMin: number; firstToLastS: number; count: number; load: string }> {
  const sim = await startSimulator(['--send-ms', String(SEND_MS), '--boot-ms', '50']);
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-bench-duty-'));
  const port = await freePort();
  const configFile = join(dir, 'box.toml');
  writeConfig(configFile, { port, dataDir: join(dir, 'data'), device: sim.link });
  const box = await startBoxProcess(configFile, port);
  try {
    // The 200 messages queued at once (one request each), as gammu-smsd found them in its outbox.
    const started = load();
    await Promise.all(
      bodies.map(async (body, i) => {
        const reply = await (await fetch(`${box.base}/sms?Msg=smsSnd&${BENCH_AUTH}&Tel=138${String(i).padStart(8, '0')}&Body=${encodeURIComponent(body)}`)).text();
        if (reply !== '1') throw new Error(`smsSnd answered ${reply}`);
      }),
    );
    return { ...(await timeTransmissions(sim, MESSAGES * SEND_MS * 5 + 60_000)), load: started };
  } finally {
    await box.stop();
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const gammu = await runGammu();
const box = await runBox();
console.log(`Modem duty cycle: ${MESSAGES} one-segment messages through simulate-modem on a pty at ${SEND_MS} ms per segment; the modem's limit ${LIMIT_PER_MIN.toFixed(0)} msg/min (node ${process.version})`);
console.log('sender          msg/min   % of limit   first→last s  load average');
for (const [name, r] of [['gammu-smsd', gammu], ['box', box]] as const) {
  console.log(`${name.padEnd(14)} ${r.perMin.toFixed(1).padStart(8)} ${((r.perMin / LIMIT_PER_MIN) * 100).toFixed(1).padStart(11)} % ${r.firstToLastS.toFixed(1).padStart(12)}  ${r.load}`);
}
const ratio = box.perMin / LIMIT_PER_MIN;
console.log(`box ${(ratio * 100).toFixed(1)} % of the modem's limit (target ≥ ${TARGET_RATIO * 100} %) ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}; box/gammu-smsd ${(box.perMin / gammu.perMin).toFixed(2)}×`);
process.exitCode = ratio >= TARGET_RATIO ? 0 : 1;
