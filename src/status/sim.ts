import type { FaultReason } from '../leds/patterns.js';

/**
 * The SIM's health (issue 17): its credit and the carrier's restriction,
 * judged here like every other health question, as fault reasons the LEDs,
 * the overview's verdict and the alerts all read.
 *
 * - `carrier-blocked` (hard: nothing is sent but one message an hour) says what
 *   to do: call the carrier, or wait (carriers lift it after one to three
 *   working days), then lower the limits.
 * - `low-balance` (degraded: sending still works) below `[sim] low_balance_yuan`.
 */

export interface SimHealthView {
  carrier: string;
  balance_yuan: number | null;
  low: boolean;
  low_balance_yuan: number;
  blocked: boolean;
  block_cause: string | null;
}

const SERVICE_LINE: Record<string, string> = {
  'china-mobile': '10086',
  'china-unicom': '10010',
  'china-telecom': '10000',
  'china-broadnet': '10099',
};

export function simFaultReasons(sim: SimHealthView | undefined): FaultReason[] {
  if (!sim) return [];
  const reasons: FaultReason[] = [];
  if (sim.blocked) {
    const line = SERVICE_LINE[sim.carrier];
    const why = sim.block_cause === 'notice' ? '运营商来短信通知' : sim.block_cause === 'barred' ? '网络拒绝（号码被限制）' : '连续多条发给不同号码的短信被拒';
    const whyEn = sim.block_cause === 'notice' ? 'the carrier sent a notice' : sim.block_cause === 'barred' ? 'the network refused: the number is barred' : 'several messages to different numbers were refused in a row';
    reasons.push({
      level: 'hard',
      kind: 'carrier-blocked',
      zh: `运营商已限制本卡发短信（${why}）：请致电运营商${line ? ` ${line} ` : ''}说明是发货通知并申请恢复，或等待 1-3 个工作日自动解除；恢复后请在设置中调低每小时/每天发送上限。本机每小时试发一条，发出即恢复发送`,
      en: `The carrier restricted this SIM's SMS (${whyEn}): call the carrier${line ? ` (${line})` : ''}, say these are shipping notices and ask them to lift it, or wait 1-3 working days for it to lift; then lower the hourly/daily limits in Settings. The box tries one message an hour and resumes once one goes through`,
    });
  }
  if (sim.low && sim.balance_yuan !== null) {
    const owes = sim.balance_yuan < 0;
    reasons.push({
      level: 'degraded',
      kind: 'low-balance',
      zh: owes
        ? `SIM 卡已欠费 ${(-sim.balance_yuan).toFixed(2)} 元：请尽快充值，否则会停机、短信发不出去`
        : `SIM 卡话费余额 ${sim.balance_yuan.toFixed(2)} 元，低于 ${sim.low_balance_yuan} 元：请尽快充值`,
      en: owes
        ? `The SIM owes ${(-sim.balance_yuan).toFixed(2)} yuan: top it up soon, or the line is cut and no SMS goes out`
        : `The SIM's balance is ${sim.balance_yuan.toFixed(2)} yuan, below ${sim.low_balance_yuan} yuan: top it up soon`,
    });
  }
  return reasons;
}
