import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { NotifyStore } from '../../src/store/notify.js';
import { Store } from '../../src/store/store.js';
import { T0 } from '../helpers/notify.js';
import { rollBackSchema } from '../helpers/schema.js';

function withStores(run: (store: Store, notify: NotifyStore, dir: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-notify-store-'));
  const store = Store.open(dir);
  try {
    run(store, new NotifyStore(store.db), dir);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('migration 8 upgrades a database of version 7 that holds messages', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-notify-store-'));
  try {
    let store = Store.open(dir);
    store.queueSystemMessage('forward', '+8613800138000', 'kept', 1, 'ucs2', T0);
    rollBackSchema(store, 7);
    store.close();
    store = Store.open(dir);
    try {
      t.is(store.schemaVersion, MIGRATIONS.length);
      const notify = new NotifyStore(store.db);
      t.is(notify.addJob('c1', 'fault', '{}', T0), 1);
      t.is((store.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n, 1);
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('due jobs: only the oldest pending job of each channel, once it is due', (t) => {
  withStores((_store, notify) => {
    const a1 = notify.addJob('a', 'fault', '{}', T0);
    const a2 = notify.addJob('a', 'recovered', '{}', T0);
    const b1 = notify.addJob('b', 'call', '{}', T0 + 1000);
    t.deepEqual(notify.dueJobs(T0).map((j) => j.id), [a1]);
    t.deepEqual(notify.dueJobs(T0 + 1000).map((j) => j.id), [a1, b1]);
    notify.finishJob({ id: a1, channel: 'a', kind: 'fault' }, T0 + 1000, { ok: false, error: 'x', answer: null, retryAt: T0 + 31_000 });
    t.deepEqual(notify.dueJobs(T0 + 1000).map((j) => j.id), [b1], 'a2 waits behind a1\'s retry');
    t.is(notify.nextJobAt(), T0);
    notify.finishJob({ id: a1, channel: 'a', kind: 'fault' }, T0 + 31_000, { ok: true, answer: { code: 0 } });
    t.deepEqual(notify.dueJobs(T0 + 31_000).map((j) => j.id), [a2, b1]);
    t.like(notify.channel('a'), { lastAt: T0 + 31_000, lastOk: true, lastKind: 'fault', lastError: null, pending: 1, failed: 0 });
  });
});

test('dropping, postponing, merging and purging jobs', (t) => {
  withStores((_store, notify) => {
    const kept = notify.addJob('kept', 'call', '{"n":1}', T0);
    const gone = notify.addJob('gone', 'call', '{}', T0);
    t.is(notify.dropJobsExcept(['kept'], T0), 1);
    t.like(notify.getJob(gone), { status: 'dropped' });
    notify.postponeJob(kept, T0 + 3_600_000, T0);
    t.like(notify.getJob(kept), { nextAttemptAt: T0 + 3_600_000, attempts: 0 });
    t.is(notify.lastPendingJob('kept', 'call')!.id, kept);
    t.is(notify.lastPendingJob('kept', 'fault'), null);
    notify.replaceJobMessage(kept, '{"n":2}', T0);
    t.is(notify.getJob(kept)!.message, '{"n":2}');
    t.false(notify.pendingAfter('kept', kept, 'recovered'));
    notify.addJob('kept', 'recovered', '{}', T0);
    t.true(notify.pendingAfter('kept', kept, 'recovered'));
    t.is(notify.purge(T0 + 1), 1, 'the dropped job goes; pending ones stay');
    t.is(notify.jobs().length, 2);
  });
});

test('the storm state of a channel survives as JSON; a damaged one reads as empty', (t) => {
  withStores((store, notify) => {
    t.deepEqual(notify.loadState('c'), {});
    notify.saveState('c', { fault: { active: true } });
    notify.recordDelivery('c', { at: T0, ok: false, kind: 'fault', error: 'HTTP 500', answer: { status: 500 } });
    t.deepEqual(notify.loadState('c'), { fault: { active: true } }, 'recording a delivery keeps the state');
    t.like(notify.channel('c'), { lastOk: false, lastError: 'HTTP 500', lastAnswer: '{"status":500}' });
    store.db.prepare(`UPDATE notify_channels SET state = 'not json' WHERE channel = 'c'`).run();
    t.deepEqual(notify.loadState('c'), {});
  });
});
