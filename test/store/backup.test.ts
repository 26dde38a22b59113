/**
 * The database side of backup and restore (src/store/backup.ts): a snapshot
 * taken while the box writes is the database of one moment, and a restore
 * interrupted at any step (a crash through the test seam, or a data folder
 * left in each state by hand) opens as the old data or the new, never a mix.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccountConfig } from '../../src/config/config.js';
import {
  commitRestore, finishPendingRestore, inspectDatabase, restoreDir, SimulatedCrash, stageRestore, type RestoreStep,
} from '../../src/store/backup.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/box.js';

const T0 = Date.parse('2026-12-02T10:00:00+08:00');
const shop: AccountConfig = { user: 'shop', password: 'pw', balanceLi: 100_000_000, ignoreQuietHours: false };

function send(store: Store, n: number, body = '您的订单已发货，请注意查收') {
  return store.acceptSend({
    accountId: store.getAccount('shop')!.id,
    recipients: [`+86138${String(n).padStart(8, '0')}`, `+86139${String(n).padStart(8, '0')}`],
    invalidNumbers: [],
    body: `${body} #${n}`,
    segments: 1,
    encoding: 'ucs2',
    priceLiPerSegment: 100,
    client: '127.0.0.1',
    now: T0 + n,
    duplicateWindowMs: 0,
  });
}

/** A store in `dir` holding `messages` requests of two recipients each, marked by `tag`. */
function storeWith(dir: string, messages: number, tag: string): Store {
  const store = Store.open(dir);
  store.syncAccounts([shop], T0);
  for (let i = 0; i < messages; i++) send(store, i, tag);
  return store;
}

/** What the data is: the bodies in the outbox, in order. */
function bodies(dir: string): string[] {
  const store = Store.open(dir);
  try {
    return (store.db.prepare('SELECT body FROM outbox ORDER BY id').all() as { body: string }[]).map((r) => r.body);
  } finally {
    store.close();
  }
}

/** The invariants of one moment: every balance explained by its ledger, the per-status counts equal to the rows, whole requests only. */
function assertConsistent(t: import('ava').ExecutionContext, file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    t.is(db.pragma('integrity_check', { simple: true }), 'ok');
    for (const a of db.prepare('SELECT id, balance_li FROM accounts WHERE balance_li IS NOT NULL').all() as { id: number; balance_li: number }[]) {
      const sum = (db.prepare('SELECT COALESCE(SUM(amount_li), 0) AS s FROM ledger WHERE account_id = ?').get(a.id) as { s: number }).s;
      const last = db.prepare('SELECT balance_after_li AS b FROM ledger WHERE account_id = ? ORDER BY id DESC LIMIT 1').get(a.id) as { b: number } | undefined;
      t.is(sum, a.balance_li, 'the ledger adds up to the balance');
      t.is(last?.b, a.balance_li, 'the last ledger row states the balance');
    }
    const counted = db.prepare('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status').all() as { status: string; n: number }[];
    const kept = db.prepare('SELECT status, n FROM outbox_counts WHERE n > 0').all() as { status: string; n: number }[];
    t.deepEqual(new Map(kept.map((r) => [r.status, r.n])), new Map(counted.map((r) => [r.status, r.n])));
    const outbox = (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
    const requests = (db.prepare('SELECT COUNT(*) AS n FROM requests').get() as { n: number }).n;
    const charges = (db.prepare("SELECT COUNT(*) AS n FROM ledger WHERE kind = 'charge'").get() as { n: number }).n;
    t.is(outbox, requests * 2, 'every request has both of its recipients');
    t.true(charges > 0 && charges <= outbox);
    return outbox;
  } finally {
    db.close();
  }
}

test('a snapshot taken while the store keeps writing is the database of one moment', async (t) => {
  const dir = tempDir();
  const store = storeWith(dir, 4000, 'before');
  try {
    const dest = join(dir, 'snapshot.db');
    let writesDuring = 0;
    let done = false;
    const writing = (async () => {
      while (!done) {
        send(store, 100_000 + writesDuring, 'during');
        writesDuring++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await store.snapshotTo(dest);
    done = true;
    await writing;
    t.true(writesDuring > 0, 'writes went on while the snapshot was taken');
    const rows = assertConsistent(t, dest);
    t.true(rows >= 8000 && rows <= 8000 + writesDuring * 2);
    // A self-contained file: nothing beside it to lose when it is copied.
    t.false(existsSync(`${dest}-wal`));
    t.is(inspectDatabase(dest).integrity, 'ok');
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A data folder as a crash leaves it: the old database open with committed
 * rows still in its WAL (copied while open, as a power cut leaves it), and a
 * database from a backup to restore.
 */
async function crashedFolder(): Promise<{ dir: string; backupDb: string; cleanup: () => void }> {
  const root = tempDir();
  const live = join(root, 'live');
  const dir = join(root, 'crashed');
  mkdirSync(dir);
  const old = storeWith(live, 3, 'old');
  old.db.pragma('wal_autocheckpoint = 0');
  for (let i = 3; i < 6; i++) send(old, i, 'old');
  for (const suffix of ['', '-wal', '-shm']) if (existsSync(join(live, `smsbox.db${suffix}`))) copyFileSync(join(live, `smsbox.db${suffix}`), join(dir, `smsbox.db${suffix}`));
  old.close();
  t_assertWal(dir);
  const other = storeWith(join(root, 'other'), 2, 'new');
  const backupDb = join(root, 'from-backup.db');
  await other.snapshotTo(backupDb);
  other.close();
  return { dir, backupDb, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

function t_assertWal(dir: string): void {
  if (!existsSync(join(dir, 'smsbox.db-wal'))) throw new Error('the crashed folder should have a WAL');
}

const OLD = Array.from({ length: 6 }, (_, i) => [`old #${i}`, `old #${i}`]).flat();
const NEW = Array.from({ length: 2 }, (_, i) => [`new #${i}`, `new #${i}`]).flat();

test('a crash before the commit leaves the old data, its WAL included; the staged copy is dropped at the next open', async (t) => {
  const { dir, backupDb, cleanup } = await crashedFolder();
  try {
    t.throws(() => stageRestore(dir, backupDb, null, { crashAfter: 'staged' }), { instanceOf: SimulatedCrash });
    t.true(existsSync(restoreDir(dir)));
    t.deepEqual(bodies(dir), OLD);
    t.false(existsSync(restoreDir(dir)));
  } finally {
    cleanup();
  }
});

for (const crashAfter of ['committed', 'config-written', 'old-wal-removed', 'renamed'] as const satisfies readonly RestoreStep[]) {
  test(`a crash after step "${crashAfter}" leaves the new data, never the old WAL replayed into it`, async (t) => {
    const { dir, backupDb, cleanup } = await crashedFolder();
    const configTarget = join(dir, 'smsbox.toml');
    writeFileSync(configTarget, '# old config\n');
    try {
      stageRestore(dir, backupDb, '# restored config\n');
      const record = { backup: 'test', configTarget, preRestoreBackup: null, committedAt: T0 };
      if (crashAfter === 'committed') {
        t.throws(() => commitRestore(dir, record, { crashAfter }), { instanceOf: SimulatedCrash });
      } else {
        commitRestore(dir, record);
        t.throws(() => Store.open(dir, { crashAfter }), { instanceOf: SimulatedCrash });
        // The next start dies at the same step again (its steps are repeated); after "renamed" there is nothing left to repeat.
        if (crashAfter === 'renamed') Store.open(dir, { crashAfter }).close();
        else t.throws(() => Store.open(dir, { crashAfter }), { instanceOf: SimulatedCrash });
      }
      const store = Store.open(dir);
      t.is(store.restoreOnOpen.outcome, crashAfter === 'renamed' ? 'none' : 'finished');
      store.close();
      t.deepEqual(bodies(dir), NEW);
      t.is(readFileSync(configTarget, 'utf8'), '# restored config\n');
      t.false(existsSync(restoreDir(dir)));
      t.is(inspectDatabase(join(dir, 'smsbox.db')).integrity, 'ok');
    } finally {
      cleanup();
    }
  });
}

test('a data folder left in each state of a restore opens as the old data or the new', async (t) => {
  const cases: { state: string; arrange: (dir: string, backupDb: string) => void; expect: string[] }[] = [
    { state: 'staged, no commit', arrange: (dir, db) => stageRestore(dir, db, null), expect: OLD },
    { state: 'an empty restore folder', arrange: (dir) => mkdirSync(restoreDir(dir)), expect: OLD },
    {
      state: 'a torn commit file (only its temp written)',
      arrange: (dir, db) => {
        stageRestore(dir, db, null);
        writeFileSync(join(restoreDir(dir), `.COMMIT.${process.pid}.tmp`), '{"backup":');
      },
      expect: OLD,
    },
    { state: 'staged and committed', arrange: (dir, db) => { stageRestore(dir, db, null); commitRestore(dir, { backup: 'b', configTarget: null, preRestoreBackup: null, committedAt: T0 }); }, expect: NEW },
    {
      state: 'committed, database renamed, commit not yet removed',
      arrange: (dir, db) => {
        stageRestore(dir, db, null);
        commitRestore(dir, { backup: 'b', configTarget: null, preRestoreBackup: null, committedAt: T0 });
        for (const suffix of ['-wal', '-shm']) rmSync(join(dir, `smsbox.db${suffix}`), { force: true });
        copyFileSync(join(restoreDir(dir), 'staged.db'), join(dir, 'smsbox.db'));
        rmSync(join(restoreDir(dir), 'staged.db'));
      },
      expect: NEW,
    },
  ];
  for (const c of cases) {
    const { dir, backupDb, cleanup } = await crashedFolder();
    try {
      c.arrange(dir, backupDb);
      t.deepEqual(bodies(dir), c.expect, c.state);
      t.false(existsSync(restoreDir(dir)), `${c.state}: the restore folder is gone`);
      t.deepEqual(bodies(dir), c.expect, `${c.state}: and stays so`);
    } finally {
      cleanup();
    }
  }
});

test('finishPendingRestore does nothing without a restore folder', (t) => {
  const dir = tempDir();
  try {
    t.deepEqual(finishPendingRestore(dir), { outcome: 'none' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
