/**
 * /metrics over several SIMs (issue 19): every modem series is one series per
 * modem, labelled modem="<name>", built from the snapshot's `modems`; a
 * snapshot without `modems` (one modem) gives the same series for that one.
 */
import test from 'ava';
import { HttpMetrics, renderMetrics } from '../../src/web/metrics.js';
import type { ModemCard } from '../../src/status/modem-cards.js';
import type { StatusSnapshot } from '../../src/status/status.js';
import { card } from '../helpers/modem-card.js';


/** The fields renderMetrics reads, as StatusModel.snapshot() gives them. */
function snapshot(modems: ModemCard[] | undefined): StatusSnapshot {
  const first = modems?.[0] ?? card('sim1');
  return {
    modem: { state: first.state, simulated: first.simulated, hard_fault: first.hard_fault, registered: first.registered, operator: first.operator, signal_csq: first.signal_csq, signal_bars: first.signal_bars, rat: first.rat, sms_path: first.sms_path },
    ...(modems ? { modems } : {}),
    queue: { queued: 3, sending: 1, uncertain: 0, sent_today: 7, sending_message_id: null, waiting: null, waiting_text: null, waiting_text_en: null },
    window: { open: true },
    sim: { balance_yuan: null, carrier: 'china-mobile', low: false, blocked: false },
    uptime_s: 60,
  } as unknown as StatusSnapshot;
}

const samples = (text: string, name: string): string[] => text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

test('every modem series carries modem="<name>", one series per modem, with per-SIM sent today and day budget', (t) => {
  const text = renderMetrics(snapshot([
    card('shop-a', { signal_csq: 25, sent_today: 120, day_budget_left: 780 }),
    card('shop-b', { state: 'searching', registered: false, signal_csq: null, signal_bars: null, sms_path: 'unknown', rat: 'unknown', hard_fault: null, sent_today: 3, day_budget_left: null }),
  ]), {}, new HttpMetrics());
  t.deepEqual(samples(text, 'smsbox_signal_csq'), ['smsbox_signal_csq{modem="shop-a"} 25', 'smsbox_signal_csq{modem="shop-b"} -1']);
  t.deepEqual(samples(text, 'smsbox_signal_bars'), ['smsbox_signal_bars{modem="shop-a"} 4', 'smsbox_signal_bars{modem="shop-b"} 0']);
  t.true(text.includes('smsbox_modem_state{modem="shop-a",state="ready"} 1\n'));
  t.true(text.includes('smsbox_modem_state{modem="shop-b",state="searching"} 1\n'));
  t.true(text.includes('smsbox_modem_state{modem="shop-b",state="ready"} 0\n'));
  t.is(samples(text, 'smsbox_modem_state').filter((l) => l.endsWith(' 1')).length, 2, 'one current state per modem');
  t.true(text.includes('smsbox_modem_sms_path{modem="shop-a",path="sgs"} 1\n'));
  t.true(text.includes('smsbox_modem_rat{modem="shop-b",rat="unknown"} 1\n'));
  t.deepEqual(samples(text, 'smsbox_modem_fault'), ['smsbox_modem_fault{modem="shop-a"} 0', 'smsbox_modem_fault{modem="shop-b"} 0']);
  t.deepEqual(samples(text, 'smsbox_modem_simulated'), ['smsbox_modem_simulated{modem="shop-a"} 1', 'smsbox_modem_simulated{modem="shop-b"} 1']);
  t.deepEqual(samples(text, 'smsbox_modem_sent_today'), ['smsbox_modem_sent_today{modem="shop-a"} 120', 'smsbox_modem_sent_today{modem="shop-b"} 3']);
  t.deepEqual(samples(text, 'smsbox_modem_day_budget_left'), ['smsbox_modem_day_budget_left{modem="shop-a"} 780'], 'no sample for a SIM without a day cap');
  // The names of the metrics are those of before: a dashboard only gains a label.
  for (const name of ['smsbox_signal_csq', 'smsbox_signal_bars', 'smsbox_modem_state', 'smsbox_modem_fault', 'smsbox_modem_sms_path', 'smsbox_modem_rat', 'smsbox_modem_simulated']) {
    t.true(text.includes(`# TYPE ${name} gauge\n`), name);
  }
  t.true(text.includes('smsbox_queue_depth{status="queued"} 3\n'), 'box-wide series keep no modem label');
});

test('a hard fault and a state the list does not know are per modem too; a name is escaped as a label value', (t) => {
  const text = renderMetrics(snapshot([
    card('a"b\\c', { hard_fault: '短信模块无响应 / The modem does not respond', state: 'not-responding' }),
    card('ok', { state: 'warming-up' }),
  ]), {}, new HttpMetrics());
  t.true(text.includes('smsbox_modem_fault{modem="a\\"b\\\\c"} 1\n'));
  t.true(text.includes('smsbox_modem_fault{modem="ok"} 0\n'));
  t.true(text.includes('smsbox_modem_state{modem="ok",state="warming-up"} 1\n'));
  t.false(text.includes('smsbox_modem_state{modem="a\\"b\\\\c",state="warming-up"}'), 'an unknown state adds a series only to its own modem');
});

test('a snapshot without modems (one SIM) gives the same series for its one modem', (t) => {
  const text = renderMetrics(snapshot(undefined), {}, new HttpMetrics());
  t.deepEqual(samples(text, 'smsbox_signal_csq'), ['smsbox_signal_csq{modem="sim1"} 20']);
  t.deepEqual(samples(text, 'smsbox_modem_sent_today'), ['smsbox_modem_sent_today{modem="sim1"} 7'], 'the queue\'s sent today');
  t.deepEqual(samples(text, 'smsbox_modem_day_budget_left'), [], 'no cap known');
});
