/**
 * `smsbox backup` and `smsbox restore FILE` on a stopped box's data folder:
 * what an update's scripts and a technician run. The restore is checked at
 * once and finished when the box next opens its data.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../src/paths.js';
import { Store } from '../src/store/store.js';
import { tempDir } from './helpers/box.js';

const run = promisify(execFile);
const CLI = join(packageRoot, 'dist/src/cli.js');

function storeWith(dir: string, body: string): void {
  const store = Store.open(dir);
  store.syncAccounts([{ user: 'aaaa', password: 'bbbb', balanceLi: null, ignoreQuietHours: false }], Date.now());
  store.acceptSend({ accountId: store.getAccount('aaaa')!.id, recipients: ['+8613800138000'], invalidNumbers: [], body, segments: 1, encoding: 'ucs2', priceLiPerSegment: 0, client: 't', now: Date.now(), duplicateWindowMs: 0 });
  store.close();
}

test('smsbox backup writes a pre-update backup of a stopped box; smsbox restore checks a file and it is restored at the next open', async (t) => {
  const a = tempDir();
  const b = tempDir();
  try {
    storeWith(a, 'from a');
    storeWith(b, 'from b');
    const made = await run(process.execPath, [CLI, 'backup', '--data', a, '--reason', 'pre-update']);
    const file = made.stdout.trim();
    t.regex(file, /backups\/smsbox-backup-[A-Za-z0-9-]+-\d{8}-\d{4}-pre-update\.tar\.gz$/);
    t.true(existsSync(file));

    const junk = join(b, 'junk.tar.gz');
    writeFileSync(junk, 'not a backup');
    const refused = await t.throwsAsync(run(process.execPath, [CLI, 'restore', junk, '--data', b]));
    t.is((refused as { code?: number }).code, 1);
    t.regex((refused as { stderr?: string }).stderr ?? '', /不是短信网关的备份文件/);

    const restored = await run(process.execPath, [CLI, 'restore', file, '--data', b]);
    t.regex(restored.stdout, /checked and committed/);
    const store = Store.open(b);
    try {
      t.is(store.restoreOnOpen.outcome, 'finished');
      t.deepEqual(store.listMessages({ limit: 5 }).map((m) => m.body), ['from a']);
    } finally {
      store.close();
    }
  } finally {
    rmSync(a, { recursive: true, force: true });
    rmSync(b, { recursive: true, force: true });
  }
});
