import test from 'ava';
import { rmSync } from 'node:fs';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig } from '../../src/config/config.js';
import { InboundProcessor, type ReceivedPart } from '../../src/inbound/inbound.js';
import { silentLogger } from '../../src/log.js';
import { planSegments } from '../../src/modem/pdu/index.js';
import { SELFTEST_TAG, SimService } from '../../src/sim/index.js';
import { Store, type BalanceRow } from '../../src/store/store.js';
import { tempDir } from '../helpers/box.js';

const T0 = Date.parse('2026-12-02T10:00:00+08:00');
let pduSeq = 0;
const sms = (from: string, text: string): ReceivedPart => ({ from, text, timestamp: '2026-12-02T10:00:00+08:00', concat: null, pdu: `PDU-${++pduSeq}` });

/**
 * The inbound processor with the SIM service's claim in front, as main.ts
 * wires them: what comes from a carrier's service number or is the box's own
 * self-test is never a customer's reply.
 */
function rig() {
  const dir = tempDir();
  const store = Store.open(dir);
  const clock = new ManualClock(T0);
  const config = defaultConfig();
  config.inbound.forwardTo = '+8613700000000';
  config.inbound.webhook = 'http://127.0.0.1:9/replies';
  store.syncAccounts(config.accounts, T0);
  const notices: string[] = [];
  const readings: { reading: BalanceRow; low: boolean }[] = [];
  const sim = new SimService({
    store: store.sim,
    clock,
    identity: () => ({ imsi: '460001234567890', ownNumber: null }),
    settings: () => ({ ownNumber: '13800138000', queryTo: '', queryText: '', lowBalanceLi: config.sim.lowBalanceLi }),
    queue: (kind, to, text) => {
      const plan = planSegments(text);
      return store.queueSystemMessage(kind, to, text, plan.parts.length, plan.encoding, clock.now());
    },
    messageState: (id) => {
      const m = store.getMessage(id);
      return m ? { status: m.status, error: m.lastError } : null;
    },
    onReading: (reading, low) => readings.push({ reading, low }),
  });
  const processor = new InboundProcessor({
    store, clock, config: () => config, log: silentLogger,
    notify: (kind) => notices.push(kind),
    claim: (row) => sim.claimInbound(row),
  });
  const outboxKinds = () => (store.db.prepare('SELECT kind FROM outbox ORDER BY id').all() as { kind: string }[]).map((r) => r.kind);
  const webhookJobs = () => (store.db.prepare('SELECT COUNT(*) AS n FROM forwards').get() as { n: number }).n;
  const lastInbox = () => store.listInbox({ limit: 1 })[0]!;
  return {
    store, clock, config, sim, processor, notices, readings, outboxKinds, webhookJobs, lastInbox,
    dispose() {
      sim.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a carrier service number\'s message, even one that reads like an opt-out, is never opted out, forwarded or told as a reply', async (t) => {
  const r = rig();
  try {
    for (const [from, text] of [['10086', 'T'], ['10010', '退订'], ['1008611', '您的流量包已生效'], ['+8610000', '回复1办理']] as const) {
      await r.processor.receive(sms(from, text));
      t.is(r.lastInbox().action, 'carrier-service', from);
    }
    t.false(r.store.isOptedOut('10086'));
    t.deepEqual(r.outboxKinds(), [], 'no SMS forward to the owner');
    t.is(r.webhookJobs(), 0, 'no webhook forward');
    t.deepEqual(r.notices, [], 'no reply event');
    t.is(r.lastInbox().replyTo, null, 'no reply context');

    // A customer is still a customer: the claim passes them by.
    await r.processor.receive(sms('+8613900000000', 'T'));
    t.true(r.store.isOptedOut('+8613900000000'));
    await r.processor.receive(sms('+8613900000001', '什么时候发货'));
    t.is(r.lastInbox().action, 'forwarded');
    t.deepEqual(r.notices, ['optout', 'reply']);
  } finally {
    r.dispose();
  }
});

test('the self-test coming back is marked selftest: not forwarded, not a reply, not an opt-out', async (t) => {
  const r = rig();
  try {
    const { run } = r.sim.selftest.start();
    t.is(r.outboxKinds().at(-1), 'selftest');
    await r.processor.receive(sms('+8613800138000', `${SELFTEST_TAG} ${run.token}`));
    t.is(r.lastInbox().action, 'selftest');
    t.is(r.sim.selftest.latest()!.state, 'ok');
    t.deepEqual(r.outboxKinds(), ['selftest'], 'nothing forwarded');
    t.is(r.webhookJobs(), 0);
    t.deepEqual(r.notices, []);
  } finally {
    r.dispose();
  }
});

test('the balance: asked of 10086 with CXHF, the reply read, low below [sim] low_balance_yuan; a restriction notice blocks', async (t) => {
  const r = rig();
  try {
    const asked = r.sim.askBalance();
    t.like(asked, { ok: true, to: '10086', text: 'CXHF' });
    t.deepEqual(r.outboxKinds(), ['sim-query']);
    r.clock.set(T0 + 30_000);
    await r.processor.receive(sms('10086', '尊敬的客户，您好！截至12月02日10时，您的话费余额为8.50元，本月已产生话费12.30元。【中国移动】'));
    t.is(r.lastInbox().action, 'carrier-balance');
    t.like(r.sim.status(), { carrier: 'china-mobile', balance_yuan: 8.5, balance_at: new Date(T0 + 30_000).toISOString(), low: true });
    t.is(r.readings.length, 1);
    t.true(r.readings[0]!.low);

    r.config.sim.lowBalanceLi = 5_000;
    t.false(r.sim.status().low, 'the mark is read each time');

    // A later message from 10086 with no query open is a service message, not a reading.
    await r.processor.receive(sms('10086', '您的话费余额为100.00元'));
    t.is(r.lastInbox().action, 'carrier-service');
    t.is(r.sim.status().balance_yuan, 8.5);

    await r.processor.receive(sms('10086', '【中国移动】尊敬的客户，您的号码因短时间内发送大量短信，涉嫌发送垃圾短信，已暂停短信发送功能。如有疑问请拨打10086。'));
    t.is(r.lastInbox().action, 'carrier-notice');
    t.like(r.sim.status(), { blocked: true, block_cause: 'notice' });
    t.not(r.sim.carrierGate(), null);
  } finally {
    r.dispose();
  }
});

test('quiet hours: the self-test and the balance query go, the customers\' messages wait', (t) => {
  const r = rig();
  try {
    const accountId = r.store.getAccount('aaaa')!.id;
    r.store.acceptSend({ accountId, recipients: ['+8613900000000'], invalidNumbers: [], body: '通知', segments: 1, encoding: 'ucs2', priceLiPerSegment: 0, client: 'test', now: T0, duplicateWindowMs: 0 });
    t.is(r.store.nextDue(T0, false), null, 'a customer message waits for the window');
    r.sim.askBalance();
    t.is(r.store.nextDue(T0, false)?.kind, 'sim-query');
  } finally {
    r.dispose();
  }
});

test('the balance is asked at registration, not again within 6 hours of the last query; queries are 2 minutes apart at least', (t) => {
  const r = rig();
  try {
    t.like(r.sim.registered(), { ok: true, to: '10086' });
    r.clock.set(T0 + 60_000);
    t.like(r.sim.askBalance(), { ok: false, reason: 'too-soon' });
    r.clock.set(T0 + 2 * 60_000);
    t.like(r.sim.askBalance(), { ok: true });
    r.clock.set(T0 + 2 * 60_000 + 6 * 3_600_000 - 1);
    t.is(r.sim.registered(), null, 'a box that re-registers within 6 hours does not ask again');
    r.clock.set(T0 + 2 * 60_000 + 6 * 3_600_000);
    t.like(r.sim.registered(), { ok: true });
    t.deepEqual(r.outboxKinds(), ['sim-query', 'sim-query', 'sim-query']);
  } finally {
    r.dispose();
  }
});

test('a call from a carrier number (an inbox entry of kind "call") is not taken for the answer to a balance query', (t) => {
  const r = rig();
  try {
    r.sim.askBalance();
    t.is(r.sim.claimInbound({ id: 1, from: '10086', text: '', kind: 'call' }), null);
    t.is(r.sim.claimInbound({ id: 2, from: '10086', text: '' }), 'carrier-balance', 'the same as an SMS is the (unreadable) answer');
  } finally {
    r.dispose();
  }
});
