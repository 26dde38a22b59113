import test from 'ava';
import fc from 'fast-check';
import { join } from 'node:path';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import type { AccountConfig } from '../src/config/config.js';
import Database from 'better-sqlite3';
import { requestFingerprint, Store, WAL_BACKSTOP_PAGES } from '../src/store/store.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { SchemaTooNewError } from '../src/store/database.js';
import { tempDir } from './helpers/box.js';
import { withStore } from './helpers/store.js';

const T0 = Date.parse('2026-11-25T10:00:00+08:00');
const account = (over: Partial<AccountConfig> = {}): AccountConfig => ({ user: 'shop', password: 'pw', balanceLi: 1_000, ignoreQuietHours: false, ...over });

const send = (store: Store, over: Partial<Parameters<Store['acceptSend']>[0]> = {}) =>
  store.acceptSend({
    accountId: store.getAccount('shop')!.id,
    recipients: ['+8613800138000', '+8613900139000'],
    invalidNumbers: [],
    body: '您的订单已发货',
    segments: 1,
    encoding: 'ucs2',
    priceLiPerSegment: 100,
    client: '127.0.0.1',
    now: T0,
    duplicateWindowMs: 600_000,
    ...over,
  });

test('a new database is migrated to the latest version, in WAL mode', (t) => {
  withStore((store) => {
    t.is(store.schemaVersion, MIGRATIONS.length);
    t.is(store.db.pragma('journal_mode', { simple: true }), 'wal');
    t.is(store.db.pragma('integrity_check', { simple: true }), 'ok');
  });
});

test('a database from newer software is refused, not damaged', (t) => {
  const dir = tempDir();
  const file = join(dir, 'smsbox.db');
  Store.openFile(file).db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  const err = t.throws(() => Store.openFile(file), { instanceOf: SchemaTooNewError, message: /newer than this software/ });
  // What the old version says after a rolled-back update, in the owner's language first.
  t.regex(err.message, /^数据库版本 \d+ 比本软件认识的版本 \d+ 新/);
  const raw = new Database(file, { readonly: true });
  t.is(raw.pragma('user_version', { simple: true }), MIGRATIONS.length + 1, 'left as it was');
  raw.close();
  rmSync(dir, { recursive: true, force: true });
});

test('accounts store only a password hash', (t) => {
  withStore((store) => {
    store.syncAccounts([account({ password: 'secret-密码' })], T0);
    const dump = JSON.stringify(store.db.prepare('SELECT * FROM accounts').all());
    t.false(dump.includes('secret-密码'));
    t.regex(store.getAccount('shop')!.passwordHash, /^scrypt\$/);
  });
});

test('one outbox row per recipient, charged in one ledger row', (t) => {
  withStore((store) => {
    store.syncAccounts([account()], T0);
    const outcome = send(store, { segments: 2 });
    t.is(outcome.kind, 'accepted');
    if (outcome.kind !== 'accepted') return;
    t.is(outcome.messageIds.length, 2);
    t.is(outcome.chargeLi, 400);
    const rows = store.listMessages({ limit: 10 });
    t.deepEqual(rows.map((r) => [r.to, r.status, r.segments, r.chargeLi]), [
      ['+8613900139000', 'queued', 2, 200],
      ['+8613800138000', 'queued', 2, 200],
    ]);
    t.is(store.getAccount('shop')!.balanceLi, 600);
    const ledger = store.ledger('shop');
    t.deepEqual(ledger.map((l) => [l.kind, l.amountLi, l.balanceAfterLi]), [['charge', -400, 600], ['opening', 1_000, 1_000]]);
  });
});

test('the same request again inside the window is a retry: nothing new is queued or charged', (t) => {
  withStore((store) => {
    store.syncAccounts([account()], T0);
    const first = send(store);
    const retry = send(store, { now: T0 + 599_000, recipients: ['+8613900139000', '+8613800138000'] });
    t.is(retry.kind, 'duplicate');
    t.is(first.kind === 'accepted' && retry.kind === 'duplicate' && retry.requestId === first.requestId, true);
    t.is(store.listMessages({ limit: 10 }).length, 2);
    t.is(store.getAccount('shop')!.balanceLi, 800);
    t.is(send(store, { now: T0 + 600_001 }).kind, 'accepted');
    t.is(send(store, { now: T0 + 600_002, body: 'other text' }).kind, 'accepted');
    t.is(store.listMessages({ limit: 10 }).length, 6);
  });
});

test('a balance that does not cover every recipient queues nothing', (t) => {
  withStore((store) => {
    store.syncAccounts([account({ balanceLi: 300 })], T0);
    const outcome = send(store, { segments: 2 });
    t.deepEqual(outcome, { kind: 'balance-too-low', balanceLi: 300, neededLi: 400 });
    t.is(store.listMessages({ limit: 10 }).length, 0);
    t.is(store.getAccount('shop')!.balanceLi, 300);
    t.is(send(store, { segments: 1, recipients: ['+8613800138000', '+8613900139000', '+8613700137000'] }).kind, 'accepted');
    t.is(store.getAccount('shop')!.balanceLi, 0);
  });
});

test('unlimited accounts are never refused and not charged', (t) => {
  withStore((store) => {
    store.syncAccounts([account({ balanceLi: null })], T0);
    t.is(send(store, { segments: 50 }).kind, 'accepted');
    t.is(store.getAccount('shop')!.balanceLi, null);
    t.deepEqual(store.ledger('shop').map((l) => l.kind), ['opening']);
  });
});

test('config changes: balance edits apply once as ledger rows, removed accounts are disabled', (t) => {
  withStore((store) => {
    store.syncAccounts([account({ balanceLi: 1_000 })], T0);
    send(store); // 800 left
    store.syncAccounts([account({ balanceLi: 1_000 })], T0 + 1); // restart with the same file: no change
    t.is(store.getAccount('shop')!.balanceLi, 800);
    store.syncAccounts([account({ balanceLi: 3_000 })], T0 + 2); // owner raised the figure by 2 yuan
    t.is(store.getAccount('shop')!.balanceLi, 2_800);
    t.deepEqual(store.ledger('shop')[0]!.amountLi, 2_000);
    store.syncAccounts([account({ user: 'other' })], T0 + 3);
    t.is(store.getAccount('shop'), null);
    t.truthy(store.getAccount('other'));
    store.syncAccounts([account({ balanceLi: 3_000 })], T0 + 4); // back again: history kept
    t.is(store.getAccount('shop')!.balanceLi, 2_800);
  });
});

test('a password change in the config replaces the hash', (t) => {
  withStore((store) => {
    store.syncAccounts([account({ password: 'one' })], T0);
    const before = store.getAccount('shop')!.passwordHash;
    store.syncAccounts([account({ password: 'one' })], T0);
    t.is(store.getAccount('shop')!.passwordHash, before);
    store.syncAccounts([account({ password: 'two' })], T0);
    t.not(store.getAccount('shop')!.passwordHash, before);
  });
});

test('top-up adds a ledger row; unknown and unlimited accounts are refused', (t) => {
  withStore((store) => {
    store.syncAccounts([account(), account({ user: 'free', balanceLi: null })], T0);
    t.is(store.topUp('shop', 5_000, T0, 'cash'), 6_000);
    t.is(store.topUp('nobody', 5_000, T0), null);
    t.is(store.topUp('free', 5_000, T0), null);
    t.deepEqual(store.ledger('shop')[0], { id: store.ledger('shop')[0]!.id, at: T0, kind: 'topup', amountLi: 5_000, balanceAfterLi: 6_000, requestId: null, messageId: null, note: 'cash' });
  });
});

test('accepted messages survive closing and reopening the database', (t) => {
  const dir = tempDir();
  let store = Store.open(dir);
  store.syncAccounts([account()], T0);
  send(store);
  store.close();
  store = Store.open(dir);
  t.is(store.listMessages({ limit: 10 }).length, 2);
  t.is(store.getAccount('shop')!.balanceLi, 800);
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('queue counts: today starts at local midnight', (t) => {
  withStore((store) => {
    store.syncAccounts([account({ balanceLi: null })], T0);
    send(store);
    const [a, b] = store.listMessages({ limit: 2 });
    store.db.prepare(`UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ?`).run(T0, a!.id);
    store.db.prepare(`UPDATE outbox SET status = 'failed', updated_at = ? WHERE id = ?`).run(T0 - 86_400_000, b!.id);
    const counts = store.queueCounts(T0 - 3_600_000);
    t.deepEqual(counts, { queued: 0, sending: 0, uncertain: 0, sentToday: 1, failedToday: 0, suppressedToday: 0 });
  });
});

test('the WAL is folded back into the database once writing pauses, not in the middle of a burst', (t) => {
  withStore((store, dir) => {
    store.syncAccounts([account()], T0);
    t.is(store.db.pragma('wal_autocheckpoint', { simple: true }), WAL_BACKSTOP_PAGES);
    send(store);
    t.is(store.checkpointIfQuiet(), null, 'the first look only notes the writes');
    send(store, { body: '第二单', now: T0 + 1 });
    t.is(store.checkpointIfQuiet(), null, 'written since the last look: still busy');
    const folded = store.checkpointIfQuiet();
    t.truthy(folded, 'nothing written since the last look: checkpointed');
    t.true(folded!.walPages > 0);
    t.is(folded!.checkpointedPages, folded!.walPages, 'every page of the WAL is in the database file');
    t.is(store.checkpointIfQuiet(), null, 'nothing new: no second checkpoint');

    // The database file alone (a copy without its -wal) now holds the accepted messages.
    const copy = join(dir, 'copy');
    mkdirSync(copy);
    copyFileSync(join(dir, 'smsbox.db'), join(copy, 'smsbox.db'));
    const reopened = Store.open(copy);
    try {
      t.is(reopened.searchMessages({ limit: 10 }).length, 4);
    } finally {
      reopened.close();
    }
  });
});

test('migration 5: a request accepted before the upgrade is still recognised as retried after it; the lookup uses the short key index', (t) => {
  const dir = tempDir();
  const file = join(dir, 'smsbox.db');
  try {
    // A database as version 4 left it, with one request accepted a minute ago.
    const old = new Database(file);
    for (const [i, sql] of MIGRATIONS.slice(0, 4).entries()) {
      old.exec(sql);
      old.pragma(`user_version = ${i + 1}`);
    }
    old.prepare(`INSERT INTO accounts (user, password_hash, balance_li, config_balance_li, ignore_quiet_hours, enabled, created_at, updated_at) VALUES ('shop', 'x', NULL, NULL, 0, 1, 0, 0)`).run();
    const accountId = (old.prepare(`SELECT id FROM accounts WHERE user = 'shop'`).get() as { id: number }).id;
    const recipients = ['+8613800138000', '+8613900139000'];
    old.prepare('INSERT INTO requests (account_id, received_at, client, fingerprint, recipients) VALUES (?, ?, ?, ?, ?)')
      .run(accountId, T0 - 60_000, '127.0.0.1', requestFingerprint(accountId, recipients, '您的订单已发货'), 2);
    old.close();

    const store = Store.openFile(file);
    try {
      t.is(store.schemaVersion, MIGRATIONS.length);
      const outcome = send(store, { accountId, recipients, now: T0 });
      t.is(outcome.kind, 'duplicate');
      // A different body is a different request, even though nothing else changed.
      t.is(send(store, { accountId, recipients, body: '另一条', now: T0 }).kind, 'accepted');
      const plan = store.db
        .prepare('EXPLAIN QUERY PLAN SELECT id FROM requests WHERE fingerprint_key = ? AND received_at >= ? AND fingerprint = ? ORDER BY id DESC LIMIT 1')
        .all('0123456789abcdef', 0, 'x') as { detail: string }[];
      t.regex(plan.map((p) => p.detail).join('\n'), /USING INDEX requests_fingerprint_key/);
      t.is(store.db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('logins are remembered between requests but follow every change of the accounts in the config', (t) => {
  withStore((store) => {
    store.syncAccounts([account({ password: 'old-pw' })], T0);
    const first = store.getLogin('shop')!;
    t.is(store.getLogin('shop'), first, 'the same object: no database read');
    t.is(store.getLogin('nobody'), null);

    store.syncAccounts([account({ password: 'new-pw' }), account({ user: 'nobody', password: 'pw2' })], T0 + 1);
    t.not(store.getLogin('shop')!.passwordHash, first.passwordHash, 'a new password is seen at once');
    t.is(store.getLogin('shop')!.passwordHash, store.getAccount('shop')!.passwordHash);
    t.truthy(store.getLogin('nobody'), 'an account added since is found');

    store.syncAccounts([account({ user: 'nobody', password: 'pw2' })], T0 + 2);
    t.is(store.getLogin('shop'), null, 'an account removed from the config can no longer log in');
  });
});

test('the next message to send: the oldest due by id, retries in backoff skipped until due; in quiet hours only urgent accounts', (t) => {
  withStore((store) => {
    store.syncAccounts([account(), account({ user: 'urgent', ignoreQuietHours: true })], T0);
    const queue = (user: string, to: string) => {
      const outcome = send(store, { accountId: store.getAccount(user)!.id, recipients: [to], body: `to ${to}` });
      if (outcome.kind !== 'accepted') throw new Error(outcome.kind);
      return outcome.messageIds[0]!;
    };
    const backOff = (id: number, until: number) => {
      const attempt = store.beginAttempt(id, 'hat', T0)!;
      store.finishRetry(id, attempt, T0, until, 'congestion', 0);
    };
    const due = (now: number, open: boolean) => store.nextDue(now, open)?.id ?? null;

    const later = queue('shop', '+8613800000001');
    const retried = queue('shop', '+8613800000002');
    const fresh = queue('shop', '+8613800000003');
    const urgentLater = queue('urgent', '+8613800000004');
    const urgentFresh = queue('urgent', '+8613800000005');
    backOff(later, T0 + 120_000);
    backOff(retried, T0 + 30_000);
    backOff(urgentLater, T0 + 60_000);

    t.is(due(T0, true), fresh, 'both retries wait: the oldest never-tried message');
    t.is(due(T0 + 30_000, true), retried, 'a retry that fell due goes before younger messages');
    t.is(due(T0 + 120_000, true), later, 'and the oldest of the due retries first');
    t.is(due(T0, false), urgentFresh, 'quiet hours: only the urgent account');
    t.is(due(T0 + 60_000, false), urgentLater);
    t.like(store.nextDue(T0 + 60_000, false), { account: 'urgent', to: '+8613800000004', status: 'queued' }, 'the whole row, with its account');

    store.syncAccounts([account(), account({ user: 'urgent', ignoreQuietHours: false })], T0);
    t.is(due(T0 + 120_000, false), null, 'no urgent account: nothing to send in quiet hours');
  });
});

test('the queue counts kept beside the outbox always equal a count of the outbox, whatever happens to its messages', (t) => {
  const STATUSES = ['queued', 'sending', 'sent', 'delivered', 'failed', 'uncertain', 'suppressed'];
  const operation = fc.oneof(
    fc.record({ op: fc.constant('accept' as const), recipients: fc.integer({ min: 1, max: 3 }) }),
    fc.record({ op: fc.constantFrom('begin', 'cancel', 'sent', 'retry', 'failed', 'uncertain', 'suppress', 'resend', 'give-up', 'report'), pick: fc.nat() }),
    fc.record({ op: fc.constant('power-cut' as const), resend: fc.boolean() }),
  );
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
      withStore((store) => {
        store.syncAccounts([account({ balanceLi: null })], T0);
        let now = T0;
        let body = 0;
        const attempts = new Map<number, number>();
        const withStatus = (status: string, pick: number) => {
          const ids = (store.db.prepare('SELECT id FROM outbox WHERE status = ? ORDER BY id').all(status) as { id: number }[]).map((r) => r.id);
          return ids.length ? ids[pick % ids.length]! : null;
        };
        for (const step of operations) {
          now += 1000;
          if (step.op === 'accept') {
            send(store, { recipients: Array.from({ length: step.recipients }, (_, i) => `+86138000${String(body).padStart(4, '0')}${i}`), body: `body ${body++}`, now });
          } else if (step.op === 'power-cut') {
            store.recoverInterrupted(now, step.resend);
          } else if (step.op === 'begin') {
            const id = withStatus('queued', step.pick);
            const attempt = id === null ? null : store.beginAttempt(id, 'hat', now);
            if (id !== null && attempt !== null) attempts.set(id, attempt);
          } else if (step.op === 'resend' || step.op === 'give-up') {
            const id = withStatus('uncertain', step.pick);
            if (id !== null) store.resolveUncertain(id, step.op === 'resend' ? 'resend' : 'fail', now);
          } else if (step.op === 'report') {
            const id = withStatus('sent', step.pick);
            if (id !== null) store.db.prepare(`UPDATE outbox SET status = 'delivered' WHERE id = ?`).run(id);
          } else if (step.op === 'suppress') {
            const id = withStatus('queued', step.pick);
            if (id !== null) store.suppress(id, null, now, 'opted out');
          } else {
            const id = withStatus('sending', step.pick);
            const attempt = id === null ? undefined : attempts.get(id);
            if (id === null || attempt === undefined) continue;
            if (step.op === 'cancel') store.cancelAttempt(id, attempt);
            if (step.op === 'sent') store.finishSent(id, attempt, now, '+8613800138000', [1]);
            if (step.op === 'retry') store.finishRetry(id, attempt, now, now + 30_000, 'congestion', 0);
            if (step.op === 'failed') store.finishFailed(id, attempt, now, 'unassigned number', 0);
            if (step.op === 'uncertain') store.finishUncertain(id, attempt, now, 'timeout', 0);
          }
        }
        const counted = Object.fromEntries((store.db.prepare('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
        const kept = Object.fromEntries((store.db.prepare('SELECT status, n FROM outbox_counts WHERE n <> 0').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
        t.deepEqual(kept, counted);
        const day = store.queueCounts(T0 - 3_600_000);
        t.deepEqual([day.queued, day.sending, day.uncertain], ['queued', 'sending', 'uncertain'].map((s) => counted[s] ?? 0));
        t.true(Object.keys(kept).every((s) => STATUSES.includes(s)), 'only the statuses the outbox knows');
      });
    }),
    { numRuns: 60 },
  );
});

test('migration 6: a database upgraded with messages in it starts with the right queue counts', (t) => {
  const dir = tempDir();
  try {
    let store = Store.open(dir);
    store.syncAccounts([account({ balanceLi: null })], T0);
    send(store, { recipients: ['+8613800000001', '+8613800000002', '+8613800000003'] });
    const first = store.nextDue(T0, true)!;
    store.finishSent(first.id, store.beginAttempt(first.id, 'hat', T0)!, T0, first.to, [1]);
    // Back to what version 5 had: no counts, no triggers, no per-account index.
    store.db.exec('DROP TRIGGER outbox_counts_insert; DROP TRIGGER outbox_counts_update; DROP TABLE outbox_counts; DROP INDEX outbox_queued_account');
    store.db.exec('ALTER TABLE events DROP COLUMN repeats; ALTER TABLE events DROP COLUMN last_at; ALTER TABLE events DROP COLUMN bytes');
    store.db.exec('DROP TABLE notify_jobs; DROP TABLE notify_channels; ALTER TABLE inbox DROP COLUMN reply_to; DROP INDEX inbox_calls; ALTER TABLE inbox DROP COLUMN kind');
    store.db.exec('DROP TABLE selftests; DROP TABLE sim_balance; DROP TABLE sim_state; DROP INDEX outbox_queued_kind');
    store.db.exec('DROP TABLE number_modem; ALTER TABLE inbox DROP COLUMN modem');
    store.db.pragma('user_version = 5');
    store.close();

    store = Store.open(dir);
    try {
      t.is(store.schemaVersion, MIGRATIONS.length);
      t.like(store.queueCounts(T0 - 1), { queued: 2, sending: 0, sentToday: 1 });
      send(store, { recipients: ['+8613800000004'], body: 'another' });
      t.is(store.queueCounts(T0 - 1).queued, 3, 'and keeps counting after the upgrade');
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration 12: the one modem\'s send history carries over to sim1, and each number stays with the SIM that last sent to it', (t) => {
  const dir = tempDir();
  try {
    let store = Store.open(dir);
    store.syncAccounts([account({ balanceLi: null })], T0);
    send(store, { recipients: ['+8613800000001', '+8613800000002'] });
    for (const at of [T0, T0 + 1000]) {
      const due = store.nextDue(at, true)!;
      store.finishSent(due.id, store.beginAttempt(due.id, 'hat', at)!, at, due.to, [1]);
    }
    // Back to version 11: the modem was 'hat', no number_modem, no inbox.modem.
    store.db.exec('DROP TABLE number_modem; ALTER TABLE inbox DROP COLUMN modem');
    store.db.pragma('user_version = 11');
    store.close();

    store = Store.open(dir);
    try {
      t.is(store.schemaVersion, MIGRATIONS.length);
      t.deepEqual(store.sendHistory('sim1', T0 - 1), [T0, T0 + 1000], 'the rate limits remember what the HAT sent');
      t.deepEqual(store.sendHistory('hat', T0 - 1), []);
      t.is(store.stickyModem('+8613800000001'), 'sim1');
      t.is(store.stickyModem('+8613800000002'), 'sim1');
      t.is(store.stickyModem('+8613800000003'), null);
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a number sticks to the SIM that last sent to it or heard from it', (t) => {
  const dir = tempDir();
  const store = Store.open(dir);
  try {
    store.syncAccounts([account({ balanceLi: null })], T0);
    send(store, { recipients: ['+8613800000001'] });
    const due = store.nextDue(T0, true)!;
    store.finishSent(due.id, store.beginAttempt(due.id, 'sim2', T0)!, T0, due.to, [7]);
    t.is(store.stickyModem('+8613800000001'), 'sim2');
    t.is(store.sentByModemSince('sim2', T0), 1);
    t.is(store.sentByModemSince('sim1', T0), 0);
    store.noteContact('+8613800000001', 'sim3', T0 + 5);
    t.is(store.stickyModem('+8613800000001'), 'sim3', 'the customer wrote to sim3: answers go from there');
    // A status report is matched to the SIM whose reference it carries.
    t.is(store.applyStatusReport('+8613800000001', 7, 0, true, true, T0 + 10, 'sim1'), null, 'sim1 never sent reference 7');
    t.is(store.applyStatusReport('+8613800000001', 7, 0, true, true, T0 + 10, 'sim2'), due.id);
    t.is(store.getMessage(due.id)!.status, 'delivered');
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
