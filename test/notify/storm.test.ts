import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import {
  DIGEST_MAX_LISTED, REMINDER_MS, STORM_WINDOW_MS, describeDuration, initialState, mergeAlerts, nextWake, step,
  type Alert, type ConditionKind, type KindState, type StormInput,
} from '../../src/notify/storm.js';
import type { NotifyEventKind } from '../../src/notify/kinds.js';

const T0 = Date.parse('2026-12-01T10:00:00+08:00');
const MIN = 60_000;

/**
 * Runs a script against one channel's machine for one kind with a manual
 * clock: each row moves the clock to `at` minutes after T0, feeds one input
 * and lists what was sent as short labels.
 */
function run(kind: NotifyEventKind, rows: [number, 'event' | 'on' | 'off' | 'tick', string?][], recovered = true): { sent: string[][]; state: KindState; alerts: Alert[] } {
  const clock = new ManualClock(T0);
  let state = initialState();
  const sent: string[][] = [];
  const alerts: Alert[] = [];
  for (const [minutes, what, text = ''] of rows) {
    clock.set(T0 + minutes * MIN);
    const event = { kind, at: clock.now(), zh: text, en: text };
    const input: StormInput = what === 'event' ? { type: 'event', event }
      : what === 'tick' ? { type: 'tick' }
      : { type: 'condition', active: what === 'on', event: event as { kind: ConditionKind; at: number; zh: string; en: string } };
    const result = step(state, kind, input, clock.now(), { recovered });
    state = result.state;
    alerts.push(...result.send);
    sent.push(result.send.map((a) => `${a.reminder ? 'reminder ' : ''}${a.kind}${a.events.length > 1 || a.more ? ` x${a.events.length + a.more}` : ''}${a.flaps ? ` flaps=${a.flaps}` : ''}`));
  }
  return { sent, state, alerts };
}

test('one message per kind per 10 minutes: later events wait and go as one digest', (t) => {
  const { sent, alerts } = run('call', [
    [0, 'event', 'a'], [1, 'event', 'b'], [5, 'event', 'c'], [9.99, 'tick'], [10, 'tick'], [11, 'event', 'd'], [20, 'tick'], [40, 'event', 'e'],
  ]);
  t.deepEqual(sent, [['call'], [], [], [], ['call x2'], [], ['call'], ['call']]);
  t.deepEqual(alerts[1]!.events.map((e) => e.zh), ['b', 'c']);
  t.regex(alerts[1]!.zh, /10 分钟内共 2 条：b；c/);
  t.is(alerts[2]!.zh, 'd');
});

test('a late tick still sends everything held, with the new event, in one message', (t) => {
  const { sent } = run('reply', [[0, 'event', 'a'], [3, 'event', 'b'], [25, 'event', 'c'], [26, 'tick']]);
  t.deepEqual(sent, [['reply'], [], ['reply x2'], []]);
});

test('a flood is one digest listing the first 20 and counting the rest', (t) => {
  const rows: [number, 'event'][] = Array.from({ length: 500 }, (_, i) => [i / 100, 'event']);
  const { sent, alerts, state } = run('reply', [...rows, [10, 'tick']]);
  t.is(sent.flat().length, 2);
  t.is(alerts[1]!.events.length, DIGEST_MAX_LISTED);
  t.is(alerts[1]!.more, 499 - DIGEST_MAX_LISTED);
  t.regex(alerts[1]!.zh, new RegExp(`共 499 条.*另有 ${499 - DIGEST_MAX_LISTED} 条`));
  t.is(state.held.length, 0);
});

test('a fault: announced once, reminded every hour while it lasts, one recovered when over', (t) => {
  const { sent, alerts } = run('fault', [
    [0, 'on', 'no SIM'], [1, 'on', 'no SIM'], [30, 'on', 'no SIM'], [59, 'tick'], [60, 'tick'], [61, 'on', 'no SIM'], [119, 'tick'], [120, 'tick'], [150, 'off'], [151, 'off'], [300, 'tick'],
  ]);
  t.deepEqual(sent, [['fault'], [], [], [], ['reminder fault'], [], [], ['reminder fault'], ['recovered'], [], []]);
  t.regex(alerts[1]!.zh, /仍未恢复（已持续 1 小时）：no SIM/);
  t.is(alerts[3]!.about, 'fault');
  t.regex(alerts[3]!.zh, /已恢复（持续了 2 小时 30 分钟）：no SIM/);
  t.is(alerts[3]!.since, T0);
});

test('a fault that flaps: one fault and one recovered per 10 minutes, the rest counted', (t) => {
  const { sent } = run('fault', [
    [0, 'on'], [1, 'off'], [2, 'on'], [3, 'off'], [4, 'on'], [5, 'off'], [6, 'on'], [10, 'tick'], [11, 'off'], [12, 'on'], [13, 'off'], [30, 'on'],
  ]);
  t.deepEqual(sent, [['fault'], ['recovered'], [], [], [], [], [], ['fault flaps=2'], ['recovered'], [], [], ['fault flaps=1']]);
});

test('a condition held back by the window is announced when the window ends, if it is still there', (t) => {
  const { sent } = run('stuck', [[0, 'on'], [2, 'off'], [3, 'on'], [9, 'tick'], [10, 'tick'], [70, 'tick'], [71, 'off']]);
  t.deepEqual(sent, [['stuck'], ['recovered'], [], [], ['stuck'], ['reminder stuck'], ['recovered']]);
});

test('a short episode that was never announced gets no recovered', (t) => {
  const { sent, state } = run('fault', [[0, 'on'], [1, 'off'], [2, 'on'], [5, 'off'], [20, 'tick']]);
  t.deepEqual(sent, [['fault'], ['recovered'], [], [], []]);
  t.is(state.flaps, 1);
});

test('a channel without recovered hears the fault and its reminders only', (t) => {
  const { sent } = run('fault', [[0, 'on'], [60, 'tick'], [61, 'off'], [100, 'on']], false);
  t.deepEqual(sent, [['fault'], ['reminder fault'], [], ['fault']]);
});

test('low balance and config errors are told once per episode, without hourly reminders', (t) => {
  t.deepEqual(run('low-balance', [[0, 'on'], [60, 'tick'], [600, 'tick'], [601, 'off']]).sent, [['low-balance'], [], [], ['recovered']]);
  t.deepEqual(run('config-error', [[0, 'on'], [180, 'on'], [181, 'off']]).sent, [['config-error'], [], ['recovered']]);
});

test('the text of an ongoing condition follows its latest report', (t) => {
  const { alerts } = run('fault', [[0, 'on', '没有 SIM 卡'], [30, 'on', '磁盘已满'], [60, 'tick'], [61, 'off']]);
  t.regex(alerts[1]!.zh, /磁盘已满$/);
  t.regex(alerts[2]!.zh, /：磁盘已满$/);
});

test('nextWake says when the machine needs a tick: window end, reminder, or never', (t) => {
  const held = run('call', [[0, 'event'], [1, 'event']]).state;
  t.is(nextWake(held, 'call'), T0 + STORM_WINDOW_MS);
  t.is(nextWake(run('call', [[0, 'event']]).state, 'call'), null);
  t.is(nextWake(run('fault', [[0, 'on']]).state, 'fault'), T0 + REMINDER_MS);
  t.is(nextWake(run('fault', [[0, 'on'], [1, 'off'], [2, 'on']]).state, 'fault'), T0 + STORM_WINDOW_MS);
  t.is(nextWake(run('low-balance', [[0, 'on']]).state, 'low-balance'), null);
  t.is(nextWake(run('fault', [[0, 'on'], [5, 'off']]).state, 'fault'), null);
});

test('step is pure: the state passed in is not changed', (t) => {
  const before = run('call', [[0, 'event'], [1, 'event']]).state;
  const copy = structuredClone(before);
  step(before, 'call', { type: 'event', event: { kind: 'call', at: T0, zh: 'x', en: 'x' } }, T0 + 2 * MIN, { recovered: true });
  step(before, 'call', { type: 'tick' }, T0 + 20 * MIN, { recovered: true });
  t.deepEqual(before, copy);
});

test('durations read naturally', (t) => {
  t.deepEqual(describeDuration(12 * MIN), { zh: '12 分钟', en: '12 min' });
  t.deepEqual(describeDuration(150 * MIN), { zh: '2 小时 30 分钟', en: '2 h 30 min' });
  t.deepEqual(describeDuration(60 * MIN), { zh: '1 小时', en: '1 h' });
  t.deepEqual(describeDuration(3 * 24 * 60 * MIN + 5 * 60 * MIN), { zh: '3 天 5 小时', en: '3 d 5 h' });
});

test('waiting messages of one kind merge: a condition\'s newer one supersedes, events join one digest, recovered never merges', (t) => {
  const fault = run('fault', [[0, 'on', 'no SIM'], [60, 'tick'], [120, 'tick']]).alerts;
  const merged = mergeAlerts(fault[0]!, fault[1]!)!;
  t.like(merged, { kind: 'fault', reminder: true, since: T0 });
  t.regex(merged.zh, /已持续 1 小时/);
  t.regex(mergeAlerts(merged, fault[2]!)!.zh, /已持续 2 小时/);

  const calls = run('call', [[0, 'event', 'a'], [1, 'event', 'b'], [2, 'event', 'c'], [10, 'tick']]).alerts;
  const digest = mergeAlerts(calls[0]!, calls[1]!)!;
  t.deepEqual(digest.events.map((e) => e.zh), ['a', 'b', 'c']);
  t.regex(digest.zh, /共 3 条：a；b；c/);

  const many = run('reply', [...Array.from({ length: 30 }, (_, i): [number, 'event'] => [i / 10, 'event']), [10, 'tick']]).alerts;
  const big = mergeAlerts(many[1]!, many[0]!)!;
  t.is(big.events.length, DIGEST_MAX_LISTED);
  t.is(big.events.length + big.more, 30);

  const recovered = run('fault', [[0, 'on'], [1, 'off'], [20, 'on'], [21, 'off']]).alerts.filter((a) => a.kind === 'recovered');
  t.is(recovered.length, 2);
  t.is(mergeAlerts(recovered[0]!, recovered[1]!), null);
  t.is(mergeAlerts(calls[0]!, fault[0]!), null);
});

test('a condition said again with the same words leaves the state exactly as it was', (t) => {
  const { state } = run('fault', [[0, 'on', 'no SIM']]);
  const again = step(state, 'fault', { type: 'condition', active: true, event: { kind: 'fault', at: T0 + 5 * MIN, zh: 'no SIM', en: 'no SIM' } }, T0 + 5 * MIN, { recovered: true });
  t.deepEqual(again.state, state);
  t.deepEqual(again.send, []);
  const changed = step(state, 'fault', { type: 'condition', active: true, event: { kind: 'fault', at: T0 + 5 * MIN, zh: 'disk full', en: 'disk full' } }, T0 + 5 * MIN, { recovered: true });
  t.is(changed.state.current!.zh, 'disk full');
  t.is(changed.state.since, T0);
});
