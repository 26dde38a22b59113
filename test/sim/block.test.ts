import test from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/config.js';
import { silentLogger } from '../../src/log.js';
import { ModemSendError } from '../../src/modem/errors.js';
import { packageRoot } from '../../src/paths.js';
import { Dispatcher, type DispatchModem } from '../../src/scheduler/dispatcher.js';
import { BLOCK_AFTER_DISTINCT_FAILURES, CarrierBlock, NOT_ABOUT_THE_SIM_CMS_CODES, isRestrictionNotice, PROBE_INTERVAL_MS, type BlockState } from '../../src/sim/block.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/box.js';

const T0 = Date.parse('2026-12-02T10:00:00+08:00');
const refused = (to: string, code: number | null = 500) => ({ ok: false as const, to, uncertain: false, code, reason: `+CMS ERROR: ${code}` });

function withBlock(run: (s: { store: Store; clock: ManualClock; block: CarrierBlock; changes: BlockState[]; reopen(): void }) => void) {
  const dir = tempDir();
  const clock = new ManualClock(T0);
  const changes: BlockState[] = [];
  const s = {
    store: Store.open(dir),
    clock,
    block: undefined as unknown as CarrierBlock,
    changes,
    reopen() {
      s.store.close();
      s.store = Store.open(dir);
      s.block = new CarrierBlock({ store: s.store.sim, clock, onChange: (st) => changes.push({ ...st }) });
    },
  };
  s.block = new CarrierBlock({ store: s.store.sim, clock, onChange: (st) => changes.push({ ...st }) });
  try {
    run(s);
  } finally {
    s.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test(`a run of refusals to ${BLOCK_AFTER_DISTINCT_FAILURES} different numbers, none going through, is a block; repeats of one number count once`, (t) => {
  withBlock(({ block, changes }) => {
    for (let i = 0; i < 10; i++) block.report(refused('+8613800000001'));
    t.is(block.gate(), null, 'one bad number retried is not the SIM');
    for (let i = 2; i < BLOCK_AFTER_DISTINCT_FAILURES; i++) block.report(refused(`+861380000000${i}`));
    t.is(block.gate(), null, `${BLOCK_AFTER_DISTINCT_FAILURES - 1} numbers: not yet`);
    block.report(refused(`+8613800000009`));
    t.deepEqual(block.gate(), { probeAt: T0 + PROBE_INTERVAL_MS });
    t.is(changes.length, 1);
    t.like(changes[0], { blocked: true, cause: 'failures' });
  });
});

test('a success between refusals starts the run again; "may have been sent" never counts', (t) => {
  withBlock(({ block }) => {
    for (let i = 1; i < BLOCK_AFTER_DISTINCT_FAILURES; i++) block.report(refused(`+861380000000${i}`));
    block.report({ ok: true, to: '+8613900000000' });
    for (let i = 1; i < BLOCK_AFTER_DISTINCT_FAILURES; i++) block.report(refused(`+861370000000${i}`));
    block.report({ ok: false, to: '+8613600000000', uncertain: true, code: null, reason: 'timeout' });
    t.is(block.gate(), null);
  });
});

test('refusals that name the recipient or a busy network never add up to a block, whoever they go to', (t) => {
  withBlock(({ block }) => {
    let n = 0;
    for (const code of NOT_ABOUT_THE_SIM_CMS_CODES) {
      for (let i = 0; i < BLOCK_AFTER_DISTINCT_FAILURES; i++) block.report(refused(`+86137${String(n++).padStart(8, '0')}`, code));
    }
    t.is(block.gate(), null);
    // The same run with a cause that does speak of the SIM (21, short message transfer rejected) is a block.
    for (let i = 0; i < BLOCK_AFTER_DISTINCT_FAILURES; i++) block.report(refused(`+86136${String(i).padStart(8, '0')}`, 21));
    t.like(block.current(), { blocked: true, cause: 'failures' });
  });
});

test('one refusal with a barring cause (3GPP 24.011 cause 8 or 10) is a block at once', (t) => {
  withBlock(({ block }) => {
    block.report(refused('+8613800000001', 8));
    t.like(block.current(), { blocked: true, cause: 'barred' });
  });
});

test('while blocked: a failed probe sets the next one an hour later, a probe that goes through ends the block; the block survives a restart', (t) => {
  withBlock((s) => {
    s.block.notice('已暂停短信发送功能');
    t.like(s.block.current(), { blocked: true, cause: 'notice', probeAt: T0 + PROBE_INTERVAL_MS });
    s.reopen();
    t.like(s.block.current(), { blocked: true, cause: 'notice', probeAt: T0 + PROBE_INTERVAL_MS }, 'kept in the database');
    s.clock.set(T0 + PROBE_INTERVAL_MS);
    s.block.report(refused('+8613800000001'));
    t.like(s.block.current(), { blocked: true, probeAt: T0 + 2 * PROBE_INTERVAL_MS, probes: 1 });
    s.block.report({ ok: true, to: '+8613800000002' });
    t.like(s.block.current(), { blocked: false, probeAt: null });
    t.deepEqual(s.changes.map((c) => c.blocked), [true, false]);
  });
});

interface NoticeCase { file: string; notice: boolean }
const noticeDir = join(packageRoot, 'test', 'fixtures', 'sim-notices');
const notices = JSON.parse(readFileSync(join(noticeDir, 'cases.json'), 'utf8')) as NoticeCase[];
for (const c of notices) {
  test(`notice fixture ${c.file} is ${c.notice ? '' : 'not '}a restriction notice`, (t) => {
    t.is(isRestrictionNotice(readFileSync(join(noticeDir, c.file), 'utf8')), c.notice);
  });
}

// ---- the dispatcher's gate, on a clock the test moves ---------------------------

class ScriptedModem implements DispatchModem {
  readonly id = 'hat';
  readonly sent: { to: string; at: number }[] = [];
  failWith: number | null = 500;
  /** What the modem's error classes say about the code (21 "short message transfer rejected" is final for a message). */
  failRetryable = true;
  constructor(private readonly clock: ManualClock) {}
  notReadyReason() {
    return null;
  }
  send(message: { to: string }) {
    if (this.failWith !== null) {
      return Promise.reject(new ModemSendError({ retryable: this.failRetryable, uncertain: false, code: this.failWith, reason: `+CMS ERROR: ${this.failWith}`, segmentsSent: 0 }));
    }
    this.sent.push({ to: message.to, at: this.clock.now() });
    return Promise.resolve({ messageRefs: [this.sent.length] });
  }
}

/** A store, a carrier-block detector and a scripted modem on a clock the test moves; pacing off, so each step is the gate's decision alone. */
async function withGate(maxAttempts: number, run: (s: { store: Store; clock: ManualClock; block: CarrierBlock; modem: ScriptedModem; config: ReturnType<typeof defaultConfig> }) => Promise<void>) {
  const dir = tempDir();
  const clock = new ManualClock(T0);
  const store = Store.open(dir);
  try {
    const config = defaultConfig();
    config.accounts = [{ user: 'shop', password: 'pw', balanceLi: null, ignoreQuietHours: false }];
    config.dispatch.maxAttempts = maxAttempts;
    config.schedule.maxPerHour = 0;
    config.schedule.maxPerDay = 0;
    store.syncAccounts(config.accounts, T0);
    await run({ store, clock, block: new CarrierBlock({ store: store.sim, clock }), modem: new ScriptedModem(clock), config });
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('blocked: the queue waits as "carrier-blocked", one message goes each hour until one goes through, then all go', async (t) => {
  await withGate(100, async ({ store, clock, block, modem, config }) => {
    const outcomes: boolean[] = [];
    const dispatcher = new Dispatcher({
      store, modems: [modem], clock, config: () => config, log: silentLogger, clockTrusted: () => true,
      carrierGate: () => block.gate(),
      onSendOutcome: (o) => {
        outcomes.push(o.ok);
        block.report(o);
      },
    });
    const accountId = store.getAccount('shop')!.id;
    for (let i = 0; i < 20; i++) {
      const accepted = store.acceptSend({ accountId, recipients: [`+86138000000${String(i).padStart(2, '0')}`], invalidNumbers: [], body: `通知 ${i}`, segments: 1, encoding: 'ucs2', priceLiPerSegment: 0, client: 'test', now: T0, duplicateWindowMs: 0 });
      t.is(accepted.kind, 'accepted');
    }
    // Refusals to different numbers until the detector calls it a block.
    for (let i = 0; i < BLOCK_AFTER_DISTINCT_FAILURES; i++) t.is((await dispatcher.step()).kind, 'retry');
    t.true(block.current().blocked);
    const wait = await dispatcher.step();
    t.deepEqual(wait, { kind: 'wait', reason: 'carrier-blocked', until: T0 + PROBE_INTERVAL_MS });
    t.is(dispatcher.state().waiting, 'carrier-blocked');

    // Just before the hour: still nothing.
    clock.set(T0 + PROBE_INTERVAL_MS - 1);
    t.like(await dispatcher.step(), { kind: 'wait', reason: 'carrier-blocked' });
    // The hour: exactly one try, refused; the next an hour later.
    clock.set(T0 + PROBE_INTERVAL_MS);
    t.is((await dispatcher.step()).kind, 'retry');
    t.like(await dispatcher.step(), { kind: 'wait', reason: 'carrier-blocked', until: T0 + 2 * PROBE_INTERVAL_MS });
    // The next hour the carrier has lifted it: the try goes through and the rest follow.
    modem.failWith = null;
    clock.set(T0 + 2 * PROBE_INTERVAL_MS);
    t.is((await dispatcher.step()).kind, 'sent');
    t.false(block.current().blocked);
    t.is((await dispatcher.step()).kind, 'sent', 'no more waiting');
    t.is(modem.sent.length, 2);
    t.deepEqual(outcomes.slice(-3), [false, true, true]);
  });
});

test('blocked: a refused probe costs its message no attempt and no refund, however long the block lasts', async (t) => {
  await withGate(2, async ({ store, clock, block, modem, config }) => {
    // What a restricted SIM answers in the simulator: cause 21, final for an ordinary message.
    modem.failWith = 21;
    modem.failRetryable = false;
    const dispatcher = new Dispatcher({
      store, modems: [modem], clock, config: () => config, log: silentLogger, clockTrusted: () => true,
      carrierGate: () => block.gate(),
      onSendOutcome: (o) => block.report(o),
    });
    const accountId = store.getAccount('shop')!.id;
    const ids: number[] = [];
    for (let i = 0; i < BLOCK_AFTER_DISTINCT_FAILURES + 3; i++) {
      const accepted = store.acceptSend({ accountId, recipients: [`+86139000000${String(i).padStart(2, '0')}`], invalidNumbers: [], body: `发货通知 ${i}`, segments: 1, encoding: 'ucs2', priceLiPerSegment: 0, client: 'test', now: T0, duplicateWindowMs: 0 });
      if (accepted.kind !== 'accepted') throw new Error('not accepted');
      ids.push(...accepted.messageIds);
    }
    // Before the block is known each refusal is the message's own: final, refunded.
    for (let i = 0; i < BLOCK_AFTER_DISTINCT_FAILURES - 1; i++) t.is((await dispatcher.step()).kind, 'failed');
    // The refusal that reveals the block is the SIM's: the message waits.
    t.is((await dispatcher.step()).kind, 'retry');
    t.true(block.current().blocked);
    const revealing = ids[BLOCK_AFTER_DISTINCT_FAILURES - 1]!;
    // Five hours of refused probes, with max_attempts 2: nothing more fails.
    for (let hour = 1; hour <= 5; hour++) {
      clock.set(T0 + hour * PROBE_INTERVAL_MS);
      t.is((await dispatcher.step()).kind, 'retry', `probe ${hour}`);
      t.like(await dispatcher.step(), { kind: 'wait', reason: 'carrier-blocked' });
    }
    for (const id of ids.slice(BLOCK_AFTER_DISTINCT_FAILURES - 1)) {
      const row = store.getMessage(id)!;
      t.is(row.status, 'queued', `#${id} still queued`);
      t.is(row.attempts, 0, `#${id} has spent no attempt`);
    }
    // Lifted: the waiting messages all go, the one that revealed the block among them.
    modem.failWith = null;
    clock.set(T0 + 6 * PROBE_INTERVAL_MS);
    for (let i = 0; i < 4; i++) t.is((await dispatcher.step()).kind, 'sent');
    t.is(store.getMessage(revealing)!.status, 'sent');
  });
});
