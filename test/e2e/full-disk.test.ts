/**
 * A full disk, for real: the box's data directory on a small tmpfs that the
 * test fills. The box keeps answering, says 磁盘已满, answers smsSnd `1` only
 * for what it committed, and carries on by itself when space returns; it also
 * starts on a full disk. Mounting needs root (CI runs as root): without it the
 * test fails under CI and is skipped elsewhere.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { deriveLeds } from '../../src/leds/patterns.js';
import { tmpfsTest } from '../helpers/tmpfs.js';
import { startTestBox, type TestBox } from '../helpers/box.js';

const { fullDiskTest, mountable } = tmpfsTest('full-disk test');

/** Writes a filler file until the file system refuses another byte. */
function fill(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'a');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}

const AUTH = 'User=aaaa&PWD=bbbb';

async function send(box: TestBox, n: number): Promise<string> {
  return (await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=139${String(n).padStart(8, '0')}&Body=${encodeURIComponent(`full disk test ${n} ${'填'.repeat(40)}`)}`)).body;
}

fullDiskTest('a full disk: the box answers, says so, never answers 1 for what it did not keep, recovers without a restart, and starts on a full disk', async (t) => {
  if (!mountable) return t.fail('cannot mount a tmpfs (the test needs root), and CI is set');
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir]);
  const accepted: number[] = [];
  let box: TestBox | null = null;
  try {
    box = await startTestBox({ dataDir: dir });
    let n = 0;
    for (; n < 20; n++) {
      t.is(await send(box, n), '1');
      accepted.push(n);
    }
    const filler = fill(dir);

    const status = JSON.parse((await box.get('/api/status')).body);
    t.true(status.storage.full);
    t.true(status.storage.free_bytes < 8 * 1024 * 1024);
    const page = await box.get('/');
    t.is(page.status, 200);
    t.regex(page.body, /磁盘已满/);
    t.is((await box.get('/metrics')).status, 200);
    // The LEDs are derived from the same snapshot (re-derived every second on the box).
    const leds = deriveLeds(box.status.snapshot());
    t.is(leds.patterns.fault, 'on');
    t.is(leds.faults[0]!.kind, 'disk-full');

    // Whatever could still be committed is 1; once nothing can be, 3.
    let refused = 0;
    for (let tries = 0; tries < 5000 && refused < 3; tries++, n++) {
      const reply = await send(box, n);
      if (reply === '1') accepted.push(n);
      else {
        t.is(reply, '3');
        refused++;
      }
    }
    t.is(refused, 3, 'the disk filled up');
    t.is(await (await box.get(`/sms?Msg=smsAU&${AUTH}`)).body, '1', 'logins still work on a full disk');

    rmSync(filler);
    t.false(JSON.parse((await box.get('/api/status')).body).storage.full);
    const again = await send(box, ++n);
    t.is(again, '1', 'accepted again once there is room, without a restart');
    accepted.push(n);
    await box.close();
    box = null;

    // Starting on a full disk.
    const filler2 = fill(dir);
    box = await startTestBox({ dataDir: dir });
    const started = JSON.parse((await box.get('/api/status')).body);
    t.true(started.storage.full);
    t.is((await box.get('/')).status, 200);
    t.is((await box.get('/metrics')).status, 200);
    await box.close();
    box = null;
    rmSync(filler2);

    const db = new Database(join(dir, 'smsbox.db'), { readonly: true });
    const bodies = db.prepare('SELECT body, COUNT(*) AS n FROM outbox GROUP BY body').all() as { body: string; n: number }[];
    db.close();
    const counts = new Map(bodies.map((b) => [b.body, b.n]));
    for (const i of accepted) t.is(counts.get(`full disk test ${i} ${'填'.repeat(40)}`), 1, `message ${i} answered 1 is in the outbox once`);
    t.log(`${accepted.length} messages answered 1, all kept; ${refused} answered 3`);
  } finally {
    if (box) await box.close();
    execFileSync('umount', ['-l', dir]);
    rmdirSync(dir);
  }
});
