/**
 * A disk that fills up while a backup is written, for real: the data folder
 * on a small tmpfs. The backup fails with a message, leaves no partial file
 * (not even a hidden one), the box keeps answering and accepting, and the
 * next backup works once there is room. Mounting needs root (CI runs as
 * root): without it the test fails under CI and is skipped elsewhere.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, fstatSync, mkdtempSync, openSync, readdirSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tmpfsTest } from '../helpers/tmpfs.js';
import { startTestBox, basicAuth, type TestBox } from '../helpers/box.js';

const { fullDiskTest, mountable } = tmpfsTest('backup full-disk test');

/** Fills the file system, then gives back `leave` bytes. */
function fill(dir: string, leave: number): string {
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
    ftruncateSync(fd, Math.max(0, fstatSync(fd).size - leave));
  } finally {
    closeSync(fd);
  }
  return file;
}

const ADMIN = basicAuth('smsbox');

fullDiskTest('a disk that fills while a backup is written: a clear refusal, no partial file, the box runs on', async (t) => {
  if (!mountable) return t.fail('cannot mount a tmpfs (the test needs root), and CI is set');
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-backup-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', dir]);
  let box: TestBox | null = null;
  try {
    box = await startTestBox({ dataDir: dir });
    const account = box.store.getAccount('aaaa')!.id;
    // One transaction: commit by commit, the WAL alone would take 32 MiB before its backstop checkpoint.
    box.store.transaction(() => {
      for (let i = 0; i < 4000; i++) {
        box!.store.acceptSend({ accountId: account, recipients: [`+86138${String(i).padStart(8, '0')}`], invalidNumbers: [], body: `您的订单 #${i} 已发货，快递单号 SF${1000000 + i}，请注意查收`, segments: 1, encoding: 'ucs2', priceLiPerSegment: 0, client: 'test', now: Date.now(), duplicateWindowMs: 0 });
      }
    });
    box.store.db.pragma('wal_checkpoint(TRUNCATE)');
    const backups = join(dir, 'backups');
    const leftovers = () => (existsSync(backups) ? readdirSync(backups) : []);

    // Room for part of the database copy, not for all of it; then no room at all.
    for (const leave of [256 * 1024, 0]) {
      const filler = fill(dir, leave);
      const made = await box.ops.backup.create({ reason: 'manual' });
      t.false(made.ok, `leave ${leave}`);
      if (!made.ok) {
        t.is(made.code, 'backup-failed');
        t.is(made.httpStatus, 507);
        t.regex(made.message, /磁盘已满/);
      }
      t.deepEqual(leftovers(), [], `no file left behind (leave ${leave})`);
      const download = await fetch(`${box.url}/api/backup`, { headers: ADMIN });
      t.is(download.status, 507);
      t.regex(((await download.json()) as { message: string }).message, /磁盘已满/);
      t.deepEqual(leftovers(), []);
      t.is((await box.get('/sms?Msg=smsAU&User=aaaa&PWD=bbbb')).body, '1', 'the box answers');
      t.is((await box.get('/api/status')).status, 200);
      rmSync(filler);
    }
    t.is((await box.get(`/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13900139000&Body=after`)).body, '1', 'and accepts once there is room');
    const made = await box.ops.backup.create({ reason: 'manual' });
    t.true(made.ok, 'a backup works again once there is room');
    t.deepEqual(leftovers().filter((f) => f.startsWith('.')), []);
    const events = box.store.listEvents(50).map((e) => e.kind);
    t.true(events.includes('backup-failed'));
  } finally {
    if (box) await box.dispose().catch(() => {});
    execFileSync('umount', ['-l', dir]);
    rmdirSync(dir);
  }
});
