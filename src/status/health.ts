/**
 * The modem's health as the box acts on it: may the dispatcher hand it a
 * message now, and how many sends in a row have failed. Judged here, in
 * src/status/, and nowhere else: the dispatcher, the LEDs, the stuck
 * judgement and the watchdog read these answers instead of working them out
 * again from the driver's state.
 */

/** What the driver reported about one message it was asked to transmit. */
export type SendOutcome = { ok: true } | { ok: false; error: { retryable: boolean } };

/** The fields of the status model's modem view that readiness depends on. */
export interface ReadinessView {
  state: string;
  hardFault: string | null;
  registered?: boolean;
  smsPath?: string;
}

/**
 * Registered, but on LTE with neither IMS nor SGs: every SMS would be
 * refused (+CMS ERROR: 500) or never answered. What the shop can do about it.
 */
export const NO_SMS_PATH_TEXT = {
  zh:
    '已注册 4G 网络，但收发不了短信（没有 IMS/VoLTE，也没有 SGs）：请打电话给运营商为这张卡开通 VoLTE（高清语音）；' +
    '或运行 smsbox doctor 检查模块的 IMS 设置；或换一张中国移动的卡',
  en:
    'Registered on LTE but SMS cannot go out (no IMS/VoLTE, no SGs): call the carrier to enable VoLTE on this SIM; ' +
    'or run smsbox doctor to check the module\'s IMS setting; or use a China Mobile SIM',
} as const;

/** Registered with no way to send an SMS (sms_path `none`). */
export function noSmsPath(modem: { registered?: boolean | null; smsPath?: string | null }): boolean {
  return modem.registered === true && modem.smsPath === 'none';
}

/**
 * Why the modem must not be given a message now (shown as the queue's
 * `waiting_detail`); null when it may. A hard fault speaks for itself (it
 * says what to do); otherwise the driver's state names the reason.
 */
export function modemNotReadyReason(modem: ReadinessView): string | null {
  if (modem.hardFault) return modem.hardFault;
  if (modem.state !== 'ready') return modem.state;
  if (noSmsPath(modem)) return `${NO_SMS_PATH_TEXT.zh} / ${NO_SMS_PATH_TEXT.en}`;
  return null;
}

/**
 * Sends in a row that failed for a reason that is not the message's own
 * (`retryable`: +CMS 500, no answer, the modem restarted). A message's own
 * error (an unassigned number, a text too long) neither counts nor breaks the
 * run; a success ends it.
 */
export class SendFailureRun {
  private run = 0;

  record(outcome: SendOutcome): void {
    if (outcome.ok) this.run = 0;
    else if (outcome.error.retryable) this.run++;
  }

  get length(): number {
    return this.run;
  }
}
