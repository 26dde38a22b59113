import test from 'ava';
import { rmSync } from 'node:fs';
import { SELFTEST_TAG, SELFTEST_TIMEOUT_MS, Selftest, selftestJson, type SelftestMessageState } from '../../src/sim/selftest.js';
import { Store, type SelftestRow } from '../../src/store/store.js';
import { tempDir } from '../helpers/box.js';
import { VirtualTime } from '../helpers/virtual-time.js';

/**
 * The self-test over a fake outbox: the test plays the dispatcher (the SMS's
 * state) and the network (the SMS coming back), on virtual time. The whole
 * box against the virtual HAT is test/e2e/selftest.test.ts.
 */
function rig(opts: { own?: string | null } = {}) {
  const dir = tempDir();
  const time = new VirtualTime();
  const store = Store.open(dir);
  const queued: { to: string; text: string; id: number }[] = [];
  const states = new Map<number, SelftestMessageState>();
  const finished: SelftestRow[] = [];
  const make = (s: Store) => new Selftest({
    store: s.sim,
    clock: time,
    timers: time,
    ownNumber: () => (opts.own === undefined ? '13800138000' : opts.own),
    queue: (to, text) => {
      const id = queued.length + 1;
      queued.push({ to, text, id });
      states.set(id, { status: 'queued', error: null });
      return id;
    },
    messageState: (id) => states.get(id) ?? null,
    waitingReason: () => ({ zh: '免打扰时段', en: 'quiet hours' }),
    onFinished: (run) => finished.push(run),
  });
  const r = {
    dir, time, store, queued, states, finished,
    selftest: make(store),
    /** The network hands the SMS back to the box. */
    echo(from = '+8613800138000') {
      const sms = queued.at(-1)!;
      return r.selftest.claim(from, sms.text, 99);
    },
    restart() {
      r.selftest.stop();
      r.store.close();
      r.store = Store.open(dir);
      r.selftest = make(r.store);
      r.selftest.recover();
    },
    dispose() {
      r.selftest.stop();
      r.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return r;
}

test('ok: the SMS to the own number comes back with its token; a second start meanwhile answers with the running run', async (t) => {
  const r = rig();
  try {
    const first = r.selftest.start();
    t.true(first.started);
    t.is(r.queued.length, 1);
    t.is(r.queued[0]!.to, '+8613800138000', 'the own number in E.164');
    t.true(r.queued[0]!.text.startsWith(SELFTEST_TAG));
    t.like(selftestJson(first.run, r.time.now()), { state: 'running', step: 'sending', finished_at: null, seconds: 0 });

    const second = r.selftest.start();
    t.false(second.started);
    t.is(second.run.id, first.run.id);
    t.is(r.queued.length, 1, 'nothing sent twice');

    r.states.set(1, { status: 'sent', error: null });
    await r.time.advance(5_000);
    t.is(r.selftest.latest()!.step, 'waiting-reply');
    await r.time.advance(7_000);
    t.true(r.echo(), 'the echo is the self-test\'s, no customer\'s');
    const done = selftestJson(r.selftest.latest(), r.time.now());
    t.like(done, { state: 'ok', step: 'done', seconds: 12 });
    t.regex(done.message!, /自检成功/);
    t.regex(done.message_en!, /passed/);
    t.is(r.finished.length, 1);
    t.is(r.time.pendingTimers, 0, 'no timer left behind');
  } finally {
    r.dispose();
  }
});

test('failed: the network refuses the SMS; the run ends without waiting out its time', async (t) => {
  const r = rig();
  try {
    r.selftest.start();
    r.states.set(1, { status: 'failed', error: '+CMS ERROR: 500' });
    await r.time.advance(5_000);
    t.like(r.selftest.latest(), { state: 'failed', step: 'sending' });
    t.regex(r.selftest.latest()!.zh, /CMS ERROR: 500/);
  } finally {
    r.dispose();
  }
});

test('timeout: sent but never back, or never sent, after three minutes; a late echo is still not a customer\'s', async (t) => {
  const r = rig();
  try {
    r.selftest.start();
    r.states.set(1, { status: 'sent', error: null });
    await r.time.advance(SELFTEST_TIMEOUT_MS - 1);
    t.is(r.selftest.latest()!.state, 'running');
    await r.time.advance(1);
    t.like(r.selftest.latest(), { state: 'failed', step: 'waiting-reply' });
    t.regex(r.selftest.latest()!.zh, /已发出.*没有收到/);
    t.true(r.echo(), 'a late echo is claimed (marked selftest), not treated as a customer');
    t.is(r.selftest.latest()!.state, 'failed', 'and does not turn a failed run into a pass');

    r.selftest.start();
    await r.time.advance(SELFTEST_TIMEOUT_MS);
    t.like(r.selftest.latest(), { state: 'failed', step: 'sending' });
    t.regex(r.selftest.latest()!.zh, /没有发出（免打扰时段）/, 'says why it never went');
  } finally {
    r.dispose();
  }
});

test('no own number: fails at once saying to set [modem] own_number', (t) => {
  const r = rig({ own: null });
  try {
    const { run } = r.selftest.start();
    t.like(run, { state: 'failed', step: 'own-number' });
    t.regex(run.zh, /own_number/);
    t.is(r.queued.length, 0);
  } finally {
    r.dispose();
  }
});

test('a run under way when the box stopped is failed at the next start, with a message', async (t) => {
  const r = rig();
  try {
    r.selftest.start();
    r.restart();
    t.like(r.selftest.latest(), { state: 'failed' });
    t.regex(r.selftest.latest()!.zh, /重启/);
    t.not(r.selftest.latest()!.finishedAt, null);
    t.true(r.selftest.start().started, 'a new one can start');
  } finally {
    r.dispose();
  }
});

test('messages that are not the self-test\'s: no tag, or a tag from a stranger while none runs', (t) => {
  const r = rig();
  try {
    t.false(r.selftest.claim('+8613800138000', '你好', 1));
    t.false(r.selftest.claim('+8613900000000', `${SELFTEST_TAG} deadbeef`, 2));
    t.true(r.selftest.claim('+8613800138000', `${SELFTEST_TAG} deadbeef`, 3), 'the tag from the own number is the box\'s own');
  } finally {
    r.dispose();
  }
});
