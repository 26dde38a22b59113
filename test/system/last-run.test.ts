import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { runBox } from '../../src/main.js';
import { packageRoot } from '../../src/paths.js';
import {
  journalctlReader, journalTailArgs, judgePreviousRun, parseJournalTail, redactLogLine, RunRecord, RUN_STATE_FILE, type JournalReader,
} from '../../src/system/last-run.js';
import { tempDir } from '../helpers/box.js';
import { watchOutput } from '../helpers/process-events.js';

const BOOT_A = 'a'.repeat(32);
const BOOT_B = 'b'.repeat(32);
const quietLog = (lines: string[] = []) => createLogger({ level: 'debug', write: (line) => lines.push(line) });

test('the previous run: stopped is clean, running is a crash (of this boot or an earlier one), anything else unknown', (t) => {
  t.like(judgePreviousRun(JSON.stringify({ state: 'stopped', pid: 1, started_at: 'S', stopped_at: 'E', boot_id: BOOT_A }), BOOT_A), { ended: 'clean', stopped_at: 'E', same_boot: true });
  t.like(judgePreviousRun(JSON.stringify({ state: 'running', pid: 1, started_at: 'S', boot_id: BOOT_A }), BOOT_A), { ended: 'crash', started_at: 'S', stopped_at: null, same_boot: true });
  t.like(judgePreviousRun(JSON.stringify({ state: 'running', pid: 1, started_at: 'S', boot_id: BOOT_A }), BOOT_B), { ended: 'crash', same_boot: false, boot_id: BOOT_A });
  t.like(judgePreviousRun(JSON.stringify({ state: 'running', pid: 1, started_at: 'S', boot_id: null }), null), { ended: 'crash', same_boot: null });
  t.is(judgePreviousRun(null, BOOT_A).ended, 'unknown', 'the first start');
  t.is(judgePreviousRun('{"state":"runn', BOOT_A).ended, 'unknown', 'a torn or foreign file');
  t.is(judgePreviousRun('"running"', BOOT_A).ended, 'unknown');
  t.is(judgePreviousRun('null', BOOT_A).ended, 'unknown');
});

test('journalctl\'s own remarks are dropped, lines are cut short, at most 30 kept, secrets blanked', (t) => {
  const lines = Array.from({ length: 40 }, (_, i) => `2026-12-02T10:00:${String(i).padStart(2, '0')}+0800 smsbox node[9]: line ${i}`);
  const output = ['-- Boot 123 --', ...lines, 'Hint: You are currently not seeing messages from other users and the system.', '-- No entries --', ''].join('\n');
  const tail = parseJournalTail(output);
  t.is(tail.length, 30);
  t.regex(tail[0]!, /line 10$/);
  t.regex(tail[29]!, /line 39$/);
  t.is(parseJournalTail(`x${'y'.repeat(5000)}`)[0]!.length, 400);
  t.is(redactLogLine('GET /sms?User=shop&PWD=secret1&Msg=smsSnd'), 'GET /sms?User=shop&PWD=[redacted]&Msg=smsSnd');
  t.is(redactLogLine('{"password":"hunter2","user":"x"}'), '{"password":"[redacted]","user":"x"}');
  t.is(redactLogLine('Authorization: Basic YWRtaW46c2VjcmV0'), 'Authorization: [redacted]');
  t.is(redactLogLine('smsbox listening {"url":"http://0.0.0.0:80/sms"}'), 'smsbox listening {"url":"http://0.0.0.0:80/sms"}', 'ordinary lines unchanged');
});

test('journalctl reads smsbox\'s unit, in the previous run\'s boot, up to this run\'s start, no pager', (t) => {
  const args = journalTailArgs({ boot_id: BOOT_A }, 1_764_669_600_500);
  t.true(args.includes('--no-pager'));
  t.true(args.includes('--unit=smsbox.service'));
  t.true(args.includes(`--boot=${BOOT_A}`));
  t.true(args.includes('--until=@1764669600'));
  t.true(args.includes('--lines=30'));
  t.true(args.includes('--output=short-iso'));
  t.true(journalTailArgs({ boot_id: null }, 0).includes('--boot=-1'));
});

test('a run record: the first start is unknown; a clean stop is clean next time; no stop is a crash, whose log is read once', async (t) => {
  const dir = tempDir();
  const asked: string[][] = [];
  const journal: JournalReader = async (args) => {
    asked.push(args);
    return '2026-12-02T10:00:00+0800 smsbox node[9]: FATAL ERROR: Reached heap limit\n2026-12-02T10:00:01+0800 systemd[1]: smsbox.service: Watchdog timeout (limit 30s)!\n';
  };
  const record = (now: number) => new RunRecord({ dataDir: dir, log: quietLog(), now: () => now, pid: 7, bootId: BOOT_A, journal });

  const first = record(1000);
  t.is(first.begin().ended, 'unknown');
  t.like(JSON.parse(readFileSync(join(dir, RUN_STATE_FILE), 'utf8')), { state: 'running', pid: 7, boot_id: BOOT_A });
  first.stopped();
  t.is(await first.readLogTail(), null, 'nothing to read after an unknown start');

  const second = record(2000);
  t.like(second.begin(), { ended: 'clean', same_boot: true, stopped_at: new Date(1000).toISOString() });
  t.is(await second.readLogTail(), null, 'a clean end has no log to show');
  t.is(asked.length, 0);
  // second never stops: the process died.

  const third = record(3000);
  t.like(third.begin(), { ended: 'crash', started_at: new Date(2000).toISOString(), same_boot: true });
  t.deepEqual(third.summary(), { ended: 'crash', started_at: new Date(2000).toISOString(), stopped_at: null, same_boot: true });
  t.false('log_tail' in third.summary(), 'the public summary never carries the log');
  const tail = await third.readLogTail();
  t.is(tail?.length, 2);
  t.regex(tail![1]!, /Watchdog timeout/);
  t.deepEqual(third.logTail(), tail);
  t.true(asked[0]!.includes('--until=@3'));
  rmSync(dir, { recursive: true, force: true });
});

test('no journal is no log, never a failure: missing, failing, hung (killed at its limit), flooding', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, RUN_STATE_FILE), JSON.stringify({ state: 'running', pid: 1, started_at: new Date(0).toISOString(), boot_id: BOOT_A }));
  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return path;
  };
  const hung = script('hung-journalctl', 'exec sleep 60');
  const flooding = script('flooding-journalctl', "head -c 400000 /dev/zero | tr '\\000' x");
  for (const journal of [
    journalctlReader(join(dir, 'no-such-journalctl')),
    journalctlReader('false'),
    journalctlReader(hung, 200),
    journalctlReader(flooding),
    async () => {
      throw new Error('Failed to open journal: permission denied');
    },
  ]) {
    const lines: string[] = [];
    const record = new RunRecord({ dataDir: dir, log: quietLog(lines), bootId: BOOT_A, journal });
    t.is(record.begin().ended, 'crash');
    t.is(await record.readLogTail(), null);
    t.true(lines.some((l) => l.includes('no log of the previous run')));
    // begin() marked this run as running: the next record sees a crash again.
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a data folder that cannot be written: the box records nothing and runs on', (t) => {
  const dir = tempDir();
  // A file where the folder should be: every write fails (ENOTDIR), as on a broken or full card.
  writeFileSync(join(dir, 'not-a-folder'), '');
  const lines: string[] = [];
  const record = new RunRecord({ dataDir: join(dir, 'not-a-folder', 'data'), log: quietLog(lines), bootId: BOOT_A, journal: null });
  t.is(record.begin().ended, 'unknown');
  record.stopped();
  t.is(lines.filter((l) => l.includes('cannot record the run state')).length, 2);
  rmSync(dir, { recursive: true, force: true });
});

test('/api/status: last_run for anyone, its log only for an admin; the overview shows the notice, the log only when logged in', async (t) => {
  const dir = tempDir();
  const dataDir = join(dir, 'data');
  // The run before ended without a stop, in this boot.
  const crashed = new RunRecord({ dataDir, log: quietLog(), journal: null });
  crashed.begin();
  // journalctl answers when the test says: the box must not wait for it.
  let answer: (text: string) => void = () => {};
  let asked = false;
  const journal: JournalReader = () => {
    asked = true;
    return new Promise((resolve) => (answer = resolve));
  };
  const config = defaultConfig();
  config.sim.checkBalance = false;
  const host = await runBox({ config, dataDir, port: 0, host: '127.0.0.1', log: quietLog(), simulatorBootMs: 60_000, journal });
  try {
    const base = host.url;
    const anyone = (await (await fetch(`${base}/api/status`)).json()) as { last_run: Record<string, unknown> };
    t.like(anyone.last_run, { ended: 'crash', same_boot: true, stopped_at: null });
    t.false('log_tail' in anyone.last_run);
    const wrong = (await (await fetch(`${base}/api/status`, { headers: { authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` } })).json()) as { last_run: Record<string, unknown> };
    t.false('log_tail' in wrong.last_run, 'a wrong password sees what anyone sees');
    const admin = async () => (await (await fetch(`${base}/api/status`, { headers: { authorization: `Basic ${Buffer.from('admin:smsbox').toString('base64')}` } })).json()) as { last_run: { log_tail: string[] | null } };
    t.true(asked, 'the log is asked for at the start');
    t.is((await admin()).last_run.log_tail, null, 'the box answers before journalctl has');
    answer('2026-12-02T10:00:01+0800 systemd[1]: smsbox.service: Watchdog timeout (limit 30s)!\n');
    const seen = await admin();
    t.deepEqual(seen.last_run.log_tail, ['2026-12-02T10:00:01+0800 systemd[1]: smsbox.service: Watchdog timeout (limit 30s)!']);
    const page = await (await fetch(`${base}/`)).text();
    t.regex(page, /上次运行异常结束/);
    t.notRegex(page, /Watchdog timeout/, 'the log is not on the public page');
    // A logged-in browser sees the log on the overview and in /api/status.
    const login = await fetch(`${base}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'password=smsbox' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    t.regex(await (await fetch(`${base}/`, { headers: { cookie } })).text(), /<pre id="last-run-log">[^<]*Watchdog timeout \(limit 30s\)!<\/pre>/);
    t.is(((await (await fetch(`${base}/api/status`, { headers: { cookie } })).json()) as { last_run: { log_tail: string[] } }).last_run.log_tail.length, 1);
    const events = host.box.ops.events.latest(20).map((e) => e.kind);
    t.true(events.includes('last-run-crash'));
  } finally {
    await host.close();
  }
  t.like(JSON.parse(readFileSync(join(dataDir, RUN_STATE_FILE), 'utf8')), { state: 'stopped' });
  rmSync(dir, { recursive: true, force: true });
});

const exited = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));

test('a box killed with SIGKILL says crash at its next start; one stopped by SIGTERM says clean', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'smsbox.toml');
  writeFileSync(file, '[[account]]\nuser = "shop"\npassword = "pw"\n[http]\nhost = "127.0.0.1"\n[sim]\ncheck_balance = false\n');
  const serve = async (check: (status: { last_run: { ended: string; same_boot: boolean | null } }) => void, stop: 'SIGKILL' | 'SIGTERM') => {
    const child = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), 'serve', '--config', file, '--data', join(dir, 'data'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const output = watchOutput(child);
    try {
      const port = (await output.waitFor(/http:\/\/127\.0\.0\.1:(\d+)\//, 'the console line with the port'))[1];
      check((await (await fetch(`http://127.0.0.1:${port}/api/status`)).json()) as never);
    } finally {
      child.kill(stop);
      await exited(child);
    }
  };
  await serve((s) => t.is(s.last_run.ended, 'unknown', 'the first start'), 'SIGKILL');
  await serve((s) => t.like(s.last_run, { ended: 'crash' }), 'SIGTERM');
  await serve((s) => t.is(s.last_run.ended, 'clean'), 'SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});
