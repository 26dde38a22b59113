import test from 'ava';
import { deriveLeds, type LedStatusView } from '../../src/leds/patterns.js';
import { alertConditions } from '../../src/status/alerts.js';
import { simFaultReasons, type SimHealthView } from '../../src/status/sim.js';

const sim = (patch: Partial<SimHealthView> = {}): SimHealthView => ({
  carrier: 'china-mobile', balance_yuan: 50, low: false, low_balance_yuan: 10, blocked: false, block_cause: null, ...patch,
});
const view = (s: SimHealthView): LedStatusView => ({
  modem: { state: 'ready', hard_fault: null, registered: true, signal_bars: 4 },
  queue: { waiting: null, queued: 0, uncertain: 0 },
  clock: { trusted: true },
  sim: s,
});
const conditions = (s: SimHealthView, starting = false) =>
  Object.fromEntries(alertConditions({ faults: deriveLeds(view(s)).faults, starting, progress: 'idle', configError: null, balanceYuan: s.balance_yuan }).map((c) => [c.kind, c]));

test('a healthy SIM: no reason, fault LED off, low-balance and carrier-blocked said to be over', (t) => {
  const leds = deriveLeds(view(sim()));
  t.deepEqual(leds.faults, []);
  t.is(leds.patterns.fault, 'off');
  const c = conditions(sim());
  t.like(c, { 'low-balance': { active: false }, 'carrier-blocked': { active: false }, fault: { active: false } });
});

test('low credit: a warning (zh first, with the amount and the mark), the fault LED blinks, low-balance is told, no fault', (t) => {
  const low = sim({ balance_yuan: 3.2, low: true });
  const [reason] = simFaultReasons(low);
  t.like(reason, { level: 'degraded', kind: 'low-balance' });
  t.regex(reason!.zh, /话费余额 3\.20 元，低于 10 元：请尽快充值/);
  t.regex(reason!.en, /3\.20 yuan, below 10 yuan/);
  t.is(deriveLeds(view(low)).patterns.fault, 'blink-slow');
  const c = conditions(low);
  t.like(c, { 'low-balance': { active: true, zh: reason!.zh, data: { balance_yuan: 3.2 } }, fault: { active: false } });
});

test('a SIM in arrears says it owes', (t) => {
  t.regex(simFaultReasons(sim({ balance_yuan: -3.2, low: true }))[0]!.zh, /已欠费 3\.20 元/);
});

test('no balance ever read: low-balance is not said either way', (t) => {
  t.is(conditions(sim({ balance_yuan: null }))['low-balance']!.active, null);
});

test('blocked by the carrier: a hard reason saying what to do (call, wait, lower the limits), told as carrier-blocked and not as a fault', (t) => {
  const blocked = sim({ blocked: true, block_cause: 'notice' });
  const [reason] = simFaultReasons(blocked);
  t.like(reason, { level: 'hard', kind: 'carrier-blocked' });
  t.regex(reason!.zh, /致电运营商 10086/);
  t.regex(reason!.zh, /等待 1-3 个工作日/);
  t.regex(reason!.zh, /调低每小时\/每天发送上限/);
  t.regex(reason!.en, /call the carrier \(10086\)/);
  t.is(deriveLeds(view(blocked)).patterns.fault, 'on');
  const c = conditions(blocked);
  t.like(c, { 'carrier-blocked': { active: true }, fault: { active: false } });
  t.is(conditions(blocked, true)['carrier-blocked']!.active, true, 'a block known from the database is said while starting too');
  t.is(conditions(sim(), true)['carrier-blocked']!.active, null, 'its end is not said while starting');
});
