/**
 * The daily summary (issue 18 item 4): the 24 hours before the sending window
 * closes, on a clock the test sets.
 */
import test from 'ava';
import { SUMMARY_PERIOD_MS } from '../../src/operations/summary.js';
import { T0, withOps, type OpsRig } from './helpers.js';

const CLOSE = T0 + 11 * 3600_000; // 21:00 in Shanghai

async function queued(rig: OpsRig, to: string, body: string): Promise<number> {
  const sent = await rig.ops.sending.submitAs('aaaa', { tel: to, body, client: 'test' });
  if (!sent.ok || sent.value.kind !== 'queued') throw new Error('not queued');
  return sent.value.messageIds[0]!;
}

function send(rig: OpsRig, id: number, at: number, ref: number): void {
  const to = rig.store.getMessage(id)!.to;
  rig.store.finishSent(id, rig.store.beginAttempt(id, 'hat', at)!, at, to, [ref]);
}

test('the day\'s figures: sent, delivered, failed, opted out, replies, calls, credit (unknown), uncertain and queued', async (t) => {
  await withOps(async (rig) => {
    const yesterday = await queued(rig, '13800000001', '昨天的');
    send(rig, yesterday, CLOSE - SUMMARY_PERIOD_MS - 1, 1);
    const ids: number[] = [];
    for (let i = 2; i <= 7; i++) ids.push(await queued(rig, `1380000000${i}`, `今天 ${i}`));
    send(rig, ids[0]!, CLOSE - 3600_000, 10);
    send(rig, ids[1]!, CLOSE - 7200_000, 11);
    send(rig, ids[2]!, CLOSE - 60_000, 12);
    rig.store.applyStatusReport('+8613800000002', 10, 0, true, true, CLOSE - 3000_000);
    // A final error: failed, refunded.
    rig.store.finishFailed(ids[3]!, rig.store.beginAttempt(ids[3]!, 'hat', CLOSE - 5000)!, CLOSE - 5000, 'unassigned number', 0);
    rig.store.finishUncertain(ids[4]!, rig.store.beginAttempt(ids[4]!, 'hat', CLOSE - 4000)!, CLOSE - 4000, 'power cut', 0);
    // ids[5] stays queued. The owner's forwards are not customers' messages.
    const forward = rig.store.queueSystemMessage('forward', '+8613900000000', '转发', 1, 'ucs2', CLOSE - 10_000);
    send(rig, forward, CLOSE - 9000, 13);
    rig.store.addOptOut('+8613800000009', 'sms', 'T', CLOSE - 100_000);
    rig.store.addOptOut('+8613800000008', 'admin', '', CLOSE - SUMMARY_PERIOD_MS - 1000);
    rig.store.addInboundPart({ from: '+8613800000002', text: '收到', timestamp: '', concat: null, pdu: 'A' }, CLOSE - 1000, 60_000);
    rig.store.addInboundPart({ from: '+8613800000003', text: '好', timestamp: '', concat: null, pdu: 'B' }, CLOSE, 60_000);
    // Two calls in the period, one before it: calls, not replies.
    rig.store.addCall('+8613800000004', CLOSE - 2000, true);
    rig.store.addCall('', CLOSE - 1500, true);
    rig.store.addCall('+8613800000004', CLOSE - SUMMARY_PERIOD_MS - 1, true);

    const summary = rig.ops.summary.daily(CLOSE);
    t.like(summary, { from: CLOSE - SUMMARY_PERIOD_MS, to: CLOSE, sent: 3, delivered: 1, failed: 1, optedOut: 1, replies: 1, calls: 2, credit: null, uncertain: 1, uncertainIds: [ids[4]!], queued: 1 });

    const report = rig.ops.summary.dailyReport(CLOSE);
    t.is(report.zh, `11-24 21:00 至 11-25 21:00：已发送 3 条（未开启送达回执），失败 1 条，退订 1 个，顾客回复 1 条，来电 2 次（已自动挂断），SIM 卡话费余额：未知（尚未查到）；待确认 1 条（#${ids[4]}），不确定是否已发出，请在“短信”页面选择重发或标记失败；仍在排队 1 条。`);
    t.regex(report.en, /^11-24 21:00 to 11-25 21:00: 3 sent \(delivery reports are off\), 1 failed, 1 opted out, 1 replies, 2 calls \(hung up\), SIM credit: unknown/);
    t.like(report.data, { sent: 3, delivered: null, failed: 1, opted_out: 1, replies: 1, calls: 2, credit: null, uncertain: 1, queued: 1 });
  }, (c) => (c.dispatch.statusReports = false));
});

test('with delivery reports on, the summary says how many were delivered', async (t) => {
  await withOps(async (rig) => {
    const id = await queued(rig, '13800000001', '通知');
    send(rig, id, CLOSE - 60_000, 1);
    rig.store.applyStatusReport('+8613800000001', 1, 0, true, true, CLOSE - 30_000);
    const report = rig.ops.summary.dailyReport(CLOSE);
    t.regex(report.zh, /已发送 1 条，已送达 1 条，失败 0 条/);
    t.notRegex(report.zh, /待确认/, 'nothing uncertain: not mentioned');
    t.is(report.data['delivered'], 1);
  }, (c) => (c.dispatch.statusReports = true));
});

test('the SIM\'s credit as the carrier last replied; the box\'s own self-test and the carrier\'s messages are no customers\' replies', async (t) => {
  await withOps(async (rig) => {
    const query = rig.store.queueSystemMessage('sim-query', '10086', 'CXHF', 1, 'gsm7', CLOSE - 60_000);
    const asked = rig.store.sim.addBalanceQuery('china-mobile', '10086', 'CXHF', query, CLOSE - 60_000);
    const reply = rig.store.addInboundPart({ from: '10086', text: '您的话费余额为8.50元', timestamp: '', concat: null, pdu: 'C' }, CLOSE - 50_000, 60_000);
    rig.store.sim.answerBalance(asked, 8_500, '您的话费余额为8.50元', reply.inboxId, CLOSE - 50_000);
    rig.store.markInboundProcessed(reply.inboxId, 'carrier-balance');
    const echo = rig.store.addInboundPart({ from: '+8613800138000', text: '[smsbox 自检] 0a1b2c3d', timestamp: '', concat: null, pdu: 'D' }, CLOSE - 40_000, 60_000);
    rig.store.markInboundProcessed(echo.inboxId, 'selftest');
    rig.store.addInboundPart({ from: '+8613800000003', text: '好', timestamp: '', concat: null, pdu: 'E' }, CLOSE - 30_000, 60_000);

    t.like(rig.ops.summary.daily(CLOSE), { credit: 8.5, replies: 1 });
    const report = rig.ops.summary.dailyReport(CLOSE);
    t.regex(report.zh, /顾客回复 1 条.*SIM 卡话费余额：8\.50 元/);
    t.regex(report.en, /SIM credit: 8\.50 yuan/);
    t.like(report.data, { credit: 8.5, replies: 1 });
  });
});
