import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/log.js';
import { packageRoot } from '../../src/paths.js';
import { SystemdNotifier, watchdogIntervalMs, type NotifySender } from '../../src/system/systemd.js';
import { tempDir } from '../helpers/box.js';
import { watchOutput } from '../helpers/process-events.js';
import { PYTHON3, SYSTEMD_NOTIFY, testWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';

const quietLog = (lines: string[] = []) => createLogger({ level: 'debug', write: (line) => lines.push(line) });

test('the ping interval is half of WATCHDOG_USEC, only for the process WATCHDOG_PID names, and only with a socket', (t) => {
  t.is(watchdogIntervalMs({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' }, 42), 15_000);
  t.is(watchdogIntervalMs({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15_000);
  t.is(watchdogIntervalMs({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '41' }, 42), null, 'a child that inherited the variables does not ping');
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42), null);
  t.is(watchdogIntervalMs({ NOTIFY_SOCKET: '/run/systemd/notify' }, 42), null);
  t.is(watchdogIntervalMs({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30s' }, 42), null);
  t.is(watchdogIntervalMs({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '0' }, 42), null);
});

test('without NOTIFY_SOCKET nothing is ever run', (t) => {
  let calls = 0;
  const notifier = new SystemdNotifier({ env: { WATCHDOG_USEC: '2000' }, pid: 1, send: async () => void calls++, log: quietLog() });
  notifier.ready();
  notifier.startWatchdog();
  notifier.stopping();
  notifier.stopWatchdog();
  t.false(notifier.enabled);
  t.is(calls, 0);
});

/** A sender the test completes by hand: each call waits until the test lets it finish. */
function heldSender() {
  const calls: { assignments: readonly string[]; finish: (error?: Error) => void }[] = [];
  const events = new EventEmitter();
  const send: NotifySender = (assignments) =>
    new Promise<void>((resolve, reject) => {
      calls.push({ assignments, finish: (error) => (error ? reject(error) : resolve()) });
      events.emit('call');
    });
  return { calls, events, send };
}

test('one systemd-notify at a time: what is asked meanwhile goes out together in the next one', async (t) => {
  const sender = heldSender();
  const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/x' }, pid: 1, send: sender.send, log: quietLog() });
  notifier.ready();
  notifier.status('starting');
  notifier.stopping();
  notifier.stopping();
  t.is(sender.calls.length, 1, 'the others wait for the first');
  t.deepEqual(sender.calls[0]!.assignments, ['READY=1']);
  const second = waitFor(sender.events, 'call');
  sender.calls[0]!.finish();
  await second;
  t.deepEqual(sender.calls[1]!.assignments, ['STATUS=starting', 'STOPPING=1'], 'gathered, each once');
  sender.calls[1]!.finish();
  await notifier.idle();
  t.is(sender.calls.length, 2);
  t.is(notifier.sentCount, 2);
});

test('a hung systemd-notify piles up no children: pings wait for it and go out as one', async (t) => {
  const sender = heldSender();
  const notifier = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '30000000' }, pid: 1, send: sender.send, log: quietLog() });
  t.is(notifier.pingIntervalMs, 15_000);
  notifier.ping();
  t.deepEqual(sender.calls[0]!.assignments, ['WATCHDOG=1']);
  // Ten pings' worth of intervals while the first is held: still one child.
  for (let i = 0; i < 10; i++) notifier.ping();
  t.is(sender.calls.length, 1);
  const next = waitFor(sender.events, 'call');
  sender.calls[0]!.finish();
  await next;
  t.deepEqual(sender.calls[1]!.assignments, ['WATCHDOG=1'], 'the pings missed meanwhile are one ping');
  sender.calls[1]!.finish();
  await notifier.idle();
  t.is(sender.calls.length, 2);
});

test('a failing systemd-notify is logged once, and once when it works again', async (t) => {
  const lines: string[] = [];
  let fail = true;
  const sent = new EventEmitter();
  const notifier = new SystemdNotifier({
    env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '2000' },
    pid: 1,
    send: async () => {
      sent.emit('call');
      if (fail) throw new Error('no such socket');
    },
    log: quietLog(lines),
  });
  let calls = 0;
  sent.on('call', () => calls++);
  notifier.startWatchdog();
  await waitFor(sent, 'call', () => calls >= 5);
  fail = false;
  const atRecovery = calls;
  await waitFor(sent, 'call', () => calls >= atRecovery + 2);
  notifier.stopWatchdog();
  await notifier.idle();
  t.is(lines.filter((l) => l.includes('systemd-notify failed')).length, 1, lines.join('\n'));
  t.is(lines.filter((l) => l.includes('systemd-notify works again')).length, 1);
});

/** Stands in for PID 1's notify socket: prints each assignment it receives as a line, and closes the barrier's fd like PID 1 does. */
const RECEIVER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data = s.recv(65536)
    for line in data.decode("utf-8", "replace").split("\\n"):
        if line: print(line, flush=True)
`;

const stopped = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));

/** The process state letter from /proc (T: stopped). */
const procState = (pid: number) => /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];

testWithTools([SYSTEMD_NOTIFY, PYTHON3], { serial: true })('the real box says READY=1 once it answers, pings from its loop, and the pings stop while it is stopped', async (t) => {
  const dir = tempDir();
  const socketPath = join(dir, 'notify.sock');
  const receiver = spawn('python3', ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const received = watchOutput(receiver);
  const file = join(dir, 'smsbox.toml');
  writeFileSync(file, '[[account]]\nuser = "shop"\npassword = "pw"\n[http]\nhost = "127.0.0.1"\n[sim]\ncheck_balance = false\n');
  let box: ChildProcess | null = null;
  const pings = () => (received.text().match(/^WATCHDOG=1$/gm) ?? []).length;
  const waitForPings = (count: number, what: string) => received.waitFor(new RegExp(`(?:^WATCHDOG=1\\n(?:.*\\n)*?){${count}}`, 'm'), what);
  try {
    await received.waitFor(/^listening$/m, 'the fake notify socket');
    // As systemd does: WATCHDOG_PID is the main process's own pid (sh execs node).
    box = spawn('sh', ['-c', 'WATCHDOG_PID=$$ exec "$0" "$@"', process.execPath, join(packageRoot, 'dist/src/cli.js'), 'serve', '--config', file, '--data', join(dir, 'data'), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '400000' },
    });
    const output = watchOutput(box);
    await received.waitFor(/^READY=1$/m, 'READY=1');
    const port = (await output.waitFor(/http:\/\/127\.0\.0\.1:(\d+)\//, 'the console line with the port'))[1];
    t.is((await fetch(`http://127.0.0.1:${port}/api/status`)).status, 200, 'READY=1 came once the box answers HTTP');
    t.is((await received.waitFor(/^STATUS=answering HTTP on port (\d+)$/m, 'the status line systemctl shows'))[1], port);

    await waitForPings(3, 'three pings');

    // A stopped process is a blocked loop: nothing may ping for it.
    box.kill('SIGSTOP');
    const deadline = Date.now() + 10_000;
    while (procState(box.pid!) !== 'T') {
      if (Date.now() > deadline) throw new Error('the box did not stop within 10 s of SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const atStop = pings();
    // Ten ping intervals with the box stopped. One systemd-notify started just
    // before the stop may still deliver (at most one is ever in flight).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const whileStopped = pings() - atStop;
    t.true(whileStopped <= 1, `${whileStopped} pings arrived while the box was stopped`);

    box.kill('SIGCONT');
    const beforeContinue = pings();
    await waitForPings(beforeContinue + 2, 'the pings to resume once the box runs again');

    box.kill('SIGTERM');
    await received.waitFor(/^STOPPING=1$/m, 'STOPPING=1 at SIGTERM');
    await output.waitFor(/stopped cleanly/, 'a clean stop');
    await stopped(box);
    t.is(box.exitCode, 0);
  } finally {
    if (box && box.exitCode === null && box.signalCode === null) {
      box.kill('SIGCONT');
      box.kill('SIGKILL');
      await stopped(box);
    }
    receiver.kill('SIGTERM');
    await stopped(receiver);
    rmSync(dir, { recursive: true, force: true });
  }
});
