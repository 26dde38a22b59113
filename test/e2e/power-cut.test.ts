/**
 * smsSnd through HTTP to the virtual HAT over a pseudo-terminal, with the
 * box process killed (SIGKILL: a power cut as far as the software can tell)
 * in the middle of sending, then started again. Each wait ends on what the
 * processes print or stream (test/helpers/process-events.ts), never on a sleep.
 */
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { watchOutput, waitForStatus } from '../helpers/process-events.js';
import { SOCAT, testWithTools } from '../helpers/tools.js';
import { startSimulator } from '../simulator/pty-process.js';

const CLI = join(packageRoot, 'dist/src/cli.js');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// The box talks to the virtual HAT over a pty, as to a real modem: the factory passwords open nothing then.
const PASSWORD = 'shop-pw-7f3a';
const ADMIN_PASSWORD = 'shop-admin-9c1e';

testWithTools([SOCAT])('SIGKILL mid-send: every accepted message kept, none sent twice, uncertain ones held', async (t) => {
  const sim = await startSimulator(['--send-ms', '400', '--boot-ms', '50']);
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-powercut-'));
  const port = await freePort();
  const configFile = join(dir, 'smsbox.toml');
  writeFileSync(
    configFile,
    [
      `[http]\nport = ${port}\nhost = "127.0.0.1"`,
      `[[account]]\nuser = "aaaa"\npassword = "${PASSWORD}"`,
      `[admin]\npassword = "${ADMIN_PASSWORD}"`,
      `[schedule]\nquiet_hours = ""\nmax_per_hour = 0\nmax_per_day = 0\nclock = "system"`,
      `[modem]\ndevice = "${sim.link}"\nhat = "sim7600"`,
      // No balance SMS of the box's own among the messages this test counts.
      `[sim]\ncheck_balance = false`,
      `[storage]\ndata_dir = "${join(dir, 'data')}"`,
    ].join('\n'),
  );
  const base = `http://127.0.0.1:${port}`;
  let box: ChildProcess | null = null;
  const startBox = async () => {
    box = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    await watchOutput(box).waitFor(/smsbox listening/, 'the box to listen');
    t.is(await (await fetch(`${base}/sms?Msg=smsAU&User=aaaa&PWD=${PASSWORD}`)).text(), '1');
  };
  try {
    await startBox();
    const bodies = Array.from({ length: 8 }, (_, i) => `order ${i} shipped`);
    for (const [i, body] of bodies.entries()) {
      const reply = await (await fetch(`${base}/sms?Msg=smsSnd&User=aaaa&PWD=${PASSWORD}&Tel=1380013800${i}&Body=${encodeURIComponent(body)}`)).text();
      t.is(reply, '1');
    }
    // Kill the box while the third message is on its way through AT+CMGS (its PDU taken, 400 ms before +CMGS).
    await sim.waitForTransmitted(2);
    await sim.waitForStderr(/(sending a segment[^\n]*\n[^]*){3}/, 'the third message on the air');
    box!.kill('SIGKILL');
    await new Promise((resolve) => box!.once('exit', resolve));

    await startBox();
    const admin = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` };
    await waitForStatus(base, (status: { queue: { queued: number; sending: number } }) => status.queue.queued + status.queue.sending === 0, 'the queue to drain');
    const messages = ((await (await fetch(`${base}/api/messages?limit=100`, { headers: admin })).json()) as { messages: { body: string; status: string }[] }).messages;

    // Every message answered "1" is in the outbox.
    t.deepEqual(messages.map((m) => m.body).sort(), [...bodies].sort());
    // Transmitted exactly once, except an uncertain message: at most once, and held for the shop.
    const transmitted = (sim.transmitted as { text: string }[]).map((m) => m.text);
    for (const m of messages) {
      const times = transmitted.filter((text) => text === m.body).length;
      if (m.status === 'uncertain') t.true(times <= 1, `${m.body} (uncertain) transmitted ${times} times`);
      else {
        t.true(m.status === 'sent' || m.status === 'delivered', `${m.body}: ${m.status}`);
        t.is(times, 1, `${m.body} transmitted ${times} times`);
      }
    }
    t.true(messages.filter((m) => m.status === 'uncertain').length <= 1);
    t.log(`statuses after the power cut: ${messages.map((m) => m.status).join(', ')}`);
  } finally {
    if (box) {
      (box as ChildProcess).kill('SIGTERM');
      await new Promise((resolve) => (box as ChildProcess).once('exit', resolve));
    }
    await sim.stop();
  }
  const db = new Database(join(dir, 'data', 'smsbox.db'), { readonly: true });
  t.is(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
