/**
 * The backup functions another part of the box calls without HTTP (an
 * update: backupToFile before it switches, restoreBackupFile to roll back):
 * a backup of a stopped box's folder restored into another stopped folder
 * opens as that data; names and rotation.
 */
import test from 'ava';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { backupStamp, backupToFile, hostLabel, listBackups, parseBackupName, restoreBackupFile } from '../../src/operations/backup.js';
import { SCHEMA_VERSION } from '../../src/store/backup.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/box.js';

const T0 = Date.parse('2026-12-02T03:27:00+08:00');

function storeWithMessage(dir: string, body: string): void {
  const store = Store.open(dir);
  store.syncAccounts([{ user: 'shop', password: 'pw', balanceLi: 10_000, ignoreQuietHours: false }], T0);
  store.acceptSend({ accountId: store.getAccount('shop')!.id, recipients: ['+8613800138000'], invalidNumbers: [], body, segments: 1, encoding: 'ucs2', priceLiPerSegment: 100, client: 't', now: T0, duplicateWindowMs: 0 });
  store.close();
}

const bodies = (dir: string) => {
  const store = Store.open(dir);
  try {
    return store.listMessages({ limit: 10 }).map((m) => m.body);
  } finally {
    store.close();
  }
};

test('a pre-update backup of a stopped box, restored into a stopped box, opens as that data at its next start', async (t) => {
  const a = tempDir();
  const b = tempDir();
  try {
    storeWithMessage(a, 'from a');
    storeWithMessage(b, 'from b');
    const made = await backupToFile({ dataDir: a, configFile: null, now: T0, timeZone: 'Asia/Shanghai', hostname: 'pi.local', reason: 'pre-update' });
    t.is(made.name, 'smsbox-backup-pi-20261202-0327-pre-update.tar.gz');
    t.deepEqual(listBackups(a).map((x) => x.name), [made.name]);
    const restored = await restoreBackupFile({ dataDir: b, file: made.path, configFile: null, now: T0 });
    t.true(restored.ok);
    if (restored.ok) t.is(restored.value.manifest.schema_version, SCHEMA_VERSION);
    t.deepEqual(bodies(b), ['from a']);
    t.deepEqual(readdirSync(b).filter((f) => f === 'restore'), []);
    // A second backup in the same minute gets its own name.
    const again = await backupToFile({ dataDir: a, configFile: null, now: T0, timeZone: 'Asia/Shanghai', hostname: 'pi.local', reason: 'pre-update' });
    t.is(again.name, 'smsbox-backup-pi-20261202-0327-1-pre-update.tar.gz');
    t.deepEqual(listBackups(a).map((x) => x.name), [again.name, made.name]);
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});

test('names: the host as a file name allows, the time in the box\'s zone, and only names the box gives are recognised', (t) => {
  t.is(hostLabel('smsbox.local'), 'smsbox');
  t.is(hostLabel('店里的/../盒子'), 'smsbox');
  t.is(hostLabel('Shop Box 2'), 'Shop-Box-2');
  t.is(backupStamp(Date.parse('2026-12-31T16:30:00Z'), 'Asia/Shanghai'), '20270101-0030');
  t.is(backupStamp(Date.parse('2026-12-31T16:30:00Z'), 'UTC'), '20261231-1630');
  t.like(parseBackupName('smsbox-backup-pi-20261202-0327-nightly.tar.gz'), { host: 'pi', reason: 'nightly', seq: 0 });
  for (const bad of ['smsbox-backup-pi-20261202-0327.tar.gz', '../smsbox-backup-pi-20261202-0327-nightly.tar.gz', 'smsbox-backup-pi-20261202-0327-nightly.tar.gz/..', 'smsbox.db', 'smsbox-backup-p/i-20261202-0327-nightly.tar.gz']) {
    t.is(parseBackupName(bad), null, bad);
  }
});

test('a backup from older software (an older schema) is restored and migrated as the box opens it', async (t) => {
  const a = tempDir();
  const b = tempDir();
  try {
    const { default: Database } = await import('better-sqlite3');
    const { MIGRATIONS } = await import('../../src/store/migrations.js');
    const old = new Database(join(a, 'smsbox.db'));
    for (const [i, sql] of MIGRATIONS.slice(0, SCHEMA_VERSION - 1).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${i + 1}`);
    }
    old.prepare("INSERT INTO accounts (user, password_hash, balance_li, created_at, updated_at) VALUES ('old-shop', 'x', 5000, 1, 1)").run();
    old.close();
    storeWithMessage(b, 'from b');
    const made = await backupToFile({ dataDir: a, configFile: null, now: T0, timeZone: 'Asia/Shanghai', hostname: 'old', reason: 'manual' });
    const restored = await restoreBackupFile({ dataDir: b, file: made.path, configFile: null, now: T0 });
    t.true(restored.ok);
    if (restored.ok) t.is(restored.value.manifest.schema_version, SCHEMA_VERSION - 1);
    const store = Store.open(b);
    try {
      t.is(store.schemaVersion, SCHEMA_VERSION);
      t.deepEqual(store.listAccounts().map((x) => [x.user, x.balanceLi]), [['old-shop', 5000]]);
      t.deepEqual(store.listMessages({ limit: 10 }), []);
    } finally {
      store.close();
    }
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});
