/**
 * Issue 17 item 5: calls. The driver hangs up (test/modem/calls.test.ts);
 * here a hung-up call becomes an inbox entry of kind `call`, an event, a
 * `call` notification, and at most one `[calls] reply_sms` a day per number,
 * the box's own message (uncharged), never an opt-out or a customer reply.
 */
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig, parseConfig, type Config } from '../../src/config/config.js';
import { CallRecorder } from '../../src/inbound/calls.js';
import { InboundProcessor } from '../../src/inbound/inbound.js';
import { silentLogger } from '../../src/log.js';
import type { EventReport } from '../../src/notify/notifier.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { Store } from '../../src/store/store.js';
import { withStore } from '../helpers/store.js';
import { rollBackSchema } from '../helpers/schema.js';

const T0 = Date.parse('2026-12-01T10:00:00+08:00');
const CALLER = '+8613900000000';

function recorder(store: Store, configure?: (c: Config) => void) {
  const clock = new ManualClock(T0);
  const config = defaultConfig();
  configure?.(config);
  store.syncAccounts(config.accounts, T0);
  const told: { kind: string; report: EventReport }[] = [];
  let queued = 0;
  const calls = new CallRecorder({ store, clock, config: () => config, log: silentLogger, notify: (kind, report) => told.push({ kind, report }), onQueued: () => queued++ });
  return { calls, clock, config, told, queued: () => queued };
}

const replies = (store: Store) => store.listMessages({ limit: 50 }).filter((m) => m.kind === 'call-reply');

test('a hung-up call is an inbox entry of kind "call", processed at once, with an event and a "call" notification', (t) => {
  withStore((store) => {
    const r = recorder(store);
    const id = r.calls.record({ from: '13900000000', at: T0 - 2000, hungUp: true })!;
    const row = store.getInbox(id)!;
    t.like(row, { kind: 'call', from: CALLER, text: '', processed: true, action: 'hung-up', receivedAt: T0 - 2000, replyTo: null });
    t.deepEqual(store.pendingInbound(T0 + 3_600_000, 60_000), [], 'nothing for the reply/opt-out processing');
    t.is(store.listEvents(5)[0]!.kind, 'call');
    t.deepEqual(r.told.map((x) => x.kind), ['call']);
    t.regex(r.told[0]!.report.zh, /13900000000 来电/);
    t.like(r.told[0]!.report.data, { from: CALLER, inbox_id: id });
    t.is(r.told[0]!.report.at, T0 - 2000);
    t.deepEqual(replies(store), [], '[calls] reply_sms is empty by default');
    // A message received later is still an SMS.
    store.addInboundPart({ from: CALLER, text: '你好', timestamp: '', concat: null, pdu: 'P1' }, T0, 60_000);
    t.deepEqual(store.listInbox({ limit: 5 }).map((m) => m.kind), ['sms', 'call']);
  });
});

test('a withheld number is recorded as such, told, and gets no reply', (t) => {
  withStore((store) => {
    const r = recorder(store, (c) => (c.calls.replySms = '本号码不接听电话，请回复短信'));
    const id = r.calls.record({ from: null, at: T0, hungUp: true })!;
    t.like(store.getInbox(id), { kind: 'call', from: '' });
    t.regex(r.told[0]!.report.zh, /未显示号码/);
    t.deepEqual(replies(store), []);
  });
});

test('[calls] reply_sms: once per number per day (the box\'s own day), uncharged, not to a number that opted out', (t) => {
  withStore((store) => {
    const r = recorder(store, (c) => (c.calls.replySms = '本号码不接听电话，有事请回复短信，谢谢'));
    r.calls.record({ from: CALLER, at: T0, hungUp: true });
    r.clock.set(T0 + 3_600_000);
    r.calls.record({ from: '13900000000', at: T0 + 3_600_000, hungUp: true });
    t.is(replies(store).length, 1, 'the second call the same day gets no second reply');
    t.like(replies(store)[0], { to: CALLER, body: '本号码不接听电话，有事请回复短信，谢谢', status: 'queued', chargeLi: 0 });
    t.is(r.queued(), 1);
    // The next day in Shanghai (midnight is 16:00 UTC).
    r.clock.set(Date.parse('2026-12-02T00:05:00+08:00'));
    r.calls.record({ from: CALLER, at: r.clock.now(), hungUp: true });
    t.is(replies(store).length, 2);
    // Another number that opted out gets none.
    store.addOptOut('+8613700000000', 'sms', 'T', T0);
    r.calls.record({ from: '+8613700000000', at: r.clock.now(), hungUp: true });
    t.is(replies(store).length, 2);
    // A service number or a landline cannot get an SMS.
    r.calls.record({ from: '10086', at: r.clock.now(), hungUp: true });
    t.is(replies(store).length, 2);
  });
});

test('a call never counts as an opt-out or a reply, whatever follows', async (t) => {
  await new Promise<void>((resolve) => {
    withStore((store) => {
      const r = recorder(store, (c) => (c.inbound.forwardTo = '+8613800000000'));
      const told: string[] = [];
      const processor = new InboundProcessor({ store, clock: r.clock, config: () => r.config, log: silentLogger, notify: (kind) => told.push(kind) });
      r.calls.record({ from: CALLER, at: T0, hungUp: true });
      processor.processPending();
      t.deepEqual(told, []);
      t.false(store.isOptedOut(CALLER));
      t.deepEqual(store.listMessages({ limit: 10 }).filter((m) => m.kind === 'forward'), [], 'no forward to the owner');
      resolve();
    });
  });
});

test('[calls] reply_sms in the config file: read, limited, and empty by default', (t) => {
  t.is(defaultConfig().calls.replySms, '');
  const config = parseConfig('[calls]\nreply_sms = "本号码不接听电话"\n', 'smsbox.toml');
  t.is(config.calls.replySms, '本号码不接听电话');
  t.throws(() => parseConfig(`[calls]\nreply_sms = "${'长'.repeat(301)}"\n`, 'smsbox.toml'));
});

test('migration 10: the entries of an older inbox are messages', (t) => {
  withStore((store, dir) => {
    store.addInboundPart({ from: CALLER, text: '旧的回复', timestamp: '', concat: null, pdu: 'OLD-1' }, T0, 60_000);
    rollBackSchema(store, 9);
    store.close();
    const reopened = Store.open(dir);
    try {
      t.is(reopened.schemaVersion, MIGRATIONS.length);
      t.deepEqual(reopened.listInbox({ limit: 5 }).map((m) => m.kind), ['sms']);
      t.throws(() => reopened.db.exec(`UPDATE inbox SET kind = 'fax'`), { any: true, code: 'SQLITE_CONSTRAINT_CHECK' } as never);
    } finally {
      reopened.close();
      // withStore closes the store it opened: give it one to close.
      Object.assign(store, { close: () => {} });
    }
  });
});
