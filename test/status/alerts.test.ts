import test from 'ava';
import type { FaultReason } from '../../src/leds/patterns.js';
import { alertConditions, type AlertInput } from '../../src/status/alerts.js';

const NO_SIM: FaultReason = { level: 'hard', kind: 'modem-no-sim', zh: '未检测到 SIM 卡：请断电后插好 SIM 卡', en: 'No SIM card: power off and insert the SIM card' };
const DISK: FaultReason = { level: 'hard', kind: 'disk-full', zh: '磁盘已满', en: 'The disk is full' };
const STUCK: FaultReason = { level: 'hard', kind: 'stuck', zh: '发送停滞', en: 'Sending is stuck' };
const CONFIG: FaultReason = { level: 'degraded', kind: 'config-error', zh: '配置文件有误', en: 'config error' };
const UNCERTAIN: FaultReason = { level: 'degraded', kind: 'uncertain', zh: '1 条不确定', en: '1 uncertain' };

const base: AlertInput = { faults: [], starting: false, progress: 'idle', configError: null };
const byKind = (input: Partial<AlertInput>) => Object.fromEntries(alertConditions({ ...base, ...input }).map((c) => [c.kind, c]));

test('nothing wrong: every condition is said to be over', (t) => {
  const c = byKind({});
  t.like(c, { fault: { active: false }, stuck: { active: false }, 'config-error': { active: false } });
});

test('a fault: the worst hard reason names it, the others are added; degraded reasons are no fault', (t) => {
  t.like(byKind({ faults: [NO_SIM, UNCERTAIN] })['fault'], { active: true, zh: NO_SIM.zh, en: NO_SIM.en, data: { faults: ['modem-no-sim'] } });
  t.like(byKind({ faults: [NO_SIM, DISK] })['fault'], { active: true, zh: `${NO_SIM.zh}（另有：${DISK.zh}）`, en: `${NO_SIM.en} (also: ${DISK.en})` });
  t.like(byKind({ faults: [UNCERTAIN] })['fault'], { active: false });
});

test('while the box is starting, the fault is not said either way (a restart must not announce a recovery)', (t) => {
  t.is(byKind({ starting: true })['fault']!.active, null);
  t.is(byKind({ starting: true, faults: [NO_SIM] })['fault']!.active, null);
});

test('the stuck queue is its own kind, not a second fault; its end is said only when messages move or none wait', (t) => {
  const stuck = byKind({ faults: [STUCK], progress: 'stuck' });
  t.like(stuck, { fault: { active: false }, stuck: { active: true, zh: STUCK.zh } });
  t.is(byKind({ progress: 'moving' })['stuck']!.active, false);
  t.is(byKind({ progress: 'idle' })['stuck']!.active, false);
  t.is(byKind({ progress: 'held' })['stuck']!.active, null, 'the window closed for the night: not over, not said');
  t.is(byKind({ progress: 'watching' })['stuck']!.active, null, 'just restarted: not known yet');
});

test('a config error names the file and the line, and what the box runs on', (t) => {
  const c = byKind({ faults: [CONFIG], configError: { file: '/boot/smsbox.toml', line: 4, message: '[http] port 应为整数', message_en: '[http] port must be a whole number', using: 'last-good' } })['config-error']!;
  t.true(c.active);
  t.is(c.zh, '配置文件有误（/boot/smsbox.toml 第 4 行）：[http] port 应为整数。本机暂用上次正确的配置运行，请改正配置文件。');
  t.regex(c.en, /line 4\): \[http\] port must be a whole number The box runs on the last good config/);
  t.deepEqual(c.data, { file: '/boot/smsbox.toml', line: 4 });
});
