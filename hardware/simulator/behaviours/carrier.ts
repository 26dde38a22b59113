/**
 * Carrier services and the SIM's own number (issue 17, /work/coord/at-contract.md §5, §7).
 *
 * - AT+CNUM answers the SIM's own number, or nothing when the SIM does not
 *   store it (most Chinese prepaid SIMs).
 * - An SMS sent to the SIM's own number comes back to it as an incoming SMS
 *   (the box's self-test).
 * - An SMS to a carrier service number (10086, 10010, 10001 …) is answered by
 *   an SMS from that number: by default the balance reply of that carrier,
 *   with the balance set here; any text can replace it.
 * - A restriction notice can be sent from the service number.
 * - While the `carrier-blocked` fault lasts, sends are refused, except to the
 *   carrier's own service numbers (a restricted SIM can still ask 10086).
 */
import type { ParsedCommand } from '../at-parse.js';
import type { Behaviour, Handled } from '../behaviour.js';
import type { ModemCore } from '../core.js';
import { cmsError, plainError } from '../errors.js';
import type { TransmittedSms } from '../types.js';
import type { FaultsBehaviour } from './faults.js';
import type { SmsBehaviour } from './sms.js';

export type Carrier = 'china-mobile' | 'china-unicom' | 'china-telecom' | 'china-broadnet';

/** The carrier of a Chinese IMSI (MCC 460), by its MNC (issue 17). */
export function carrierOfImsi(imsi: string): Carrier | null {
  if (!imsi.startsWith('460')) return null;
  const mnc = imsi.slice(3, 5);
  if (['00', '02', '04', '07', '08'].includes(mnc)) return 'china-mobile';
  if (['01', '06', '09'].includes(mnc)) return 'china-unicom';
  if (['03', '05', '11'].includes(mnc)) return 'china-telecom';
  if (mnc === '15') return 'china-broadnet';
  return null;
}

/** Time in Shanghai (UTC+8, no DST) as the texts print it. */
function shanghai(ms: number): { year: number; month: number; day: number; hour: number } {
  const d = new Date(ms + 8 * 3600_000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const yuan = (amount: number): string => amount.toFixed(2);

interface CarrierService {
  carrier: Carrier;
  /** The default reply to any SMS: the balance, in the style of that carrier's replies. */
  reply(balanceYuan: number, nowMs: number): string;
  /** A restriction notice as that carrier sends it. */
  notice: string;
}

/**
 * The default texts follow the credit engineer's parser fixtures
 * (test/fixtures/sim-balance/ and sim-notices/ on wip-credit, themselves
 * modelled on published formats, see their README): the same wording with
 * the balance and the virtual date put in, so what the box parses in
 * simulator mode is what its tests parse.
 */
const MOBILE: CarrierService = {
  carrier: 'china-mobile',
  reply: (b, now) => {
    const t = shanghai(now);
    const when = `截至${pad2(t.month)}月${pad2(t.day)}日${pad2(t.hour)}时`;
    return b < 0
      ? `尊敬的客户，您好！${when}，您的话费余额为${yuan(b)}元，您已欠费，为避免停机影响使用，请及时缴费。本月已产生话费38.00元。【中国移动】`
      : `尊敬的客户，您好！${when}，您的话费余额为${yuan(b)}元，本月已产生话费12.30元（仅供参考，以月结账单为准）。查询详单请登录中国移动APP。【中国移动】`;
  },
  notice: '【中国移动】尊敬的客户，您的号码因短时间内发送大量短信，涉嫌发送垃圾短信，已暂停短信发送功能。如有疑问请拨打10086。',
};
const UNICOM: CarrierService = {
  carrier: 'china-unicom',
  reply: (b) => `您当前账户余额${yuan(b)}元，其中可用余额${yuan(b)}元，赠送余额0.00元。【中国联通】`,
  notice: '【中国联通】尊敬的客户：因您的号码被多次投诉发送骚扰短信，我公司已关闭您号码的短信功能。如有疑问，请携带本人身份证件到营业厅办理或拨打10010。',
};
const TELECOM: CarrierService = {
  carrier: 'china-telecom',
  reply: (b, now) => {
    const t = shanghai(now);
    return b < 0
      ? `尊敬的客户，截止到${t.year}年${pad2(t.month)}月${pad2(t.day)}日，您的账户已欠费${yuan(-b)}元，请尽快充值以免影响使用。【中国电信】`
      : `截止到${t.year}年${pad2(t.month)}月${pad2(t.day)}日${pad2(t.hour)}时，您的可用余额为${yuan(b)}元。本月已使用通用流量2.35GB，剩余通用流量27.65GB；已使用国内通话12分钟，剩余188分钟。【中国电信】`;
  },
  notice:
    '【中国电信】尊敬的用户，您的号码近期短信发送量异常（超过每小时200条或每天1000条），根据相关规定已对您的短信功能进行限制，一至三个工作日后自动解除。如确非发送垃圾短信，请拨打10000申请恢复。',
};
const BROADNET: CarrierService = {
  carrier: 'china-broadnet',
  reply: (b) => `您的账户余额为${yuan(b)}元。【中国广电】`,
  notice: '【中国广电】尊敬的客户：您的号码短信功能已被暂停，如有疑问请拨打10099。',
};

/** Carrier service numbers that answer an SMS. */
export const CARRIER_SERVICES: Readonly<Record<string, CarrierService>> = {
  '10086': MOBILE,
  '10010': UNICOM,
  '10001': TELECOM,
  '10000': TELECOM,
  '10099': BROADNET,
};

const SERVICE_OF_CARRIER: Record<Carrier, string> = {
  'china-mobile': '10086',
  'china-unicom': '10010',
  'china-telecom': '10001',
  'china-broadnet': '10099',
};

/** A number as dialled nationally: no +86 / 0086 / 86 in front of an 11-digit mobile number. */
export function nationalNumber(number: string): string {
  const digits = number.replace(/[\s-]/g, '');
  const m = /^(?:\+86|0086|86)(1\d{10})$/.exec(digits);
  return m ? m[1]! : digits.replace(/^\+/, '');
}

export interface CarrierOptions {
  ownNumber: string;
  ownNumberKnown: boolean;
  balanceYuan: number;
  replies: Record<string, string>;
  replyDelayMs: number;
  /** Service numbers answer (off for a test that plays the carrier itself). */
  answerServices: boolean;
  /** An SMS to the own number comes back (off for a test that plays the network itself). */
  loopback: boolean;
  /** The SIM's IMSI, which names its carrier. */
  imsi: () => string;
}

export class CarrierBehaviour implements Behaviour {
  readonly name = 'carrier';
  ownNumber: string;
  ownNumberKnown: boolean;
  balanceYuan: number;
  private readonly replies: Map<string, string>;
  private faults!: FaultsBehaviour;
  private sms!: SmsBehaviour;

  constructor(
    private readonly core: ModemCore,
    private readonly options: CarrierOptions,
  ) {
    this.ownNumber = options.ownNumber;
    this.ownNumberKnown = options.ownNumberKnown;
    this.balanceYuan = options.balanceYuan;
    this.replies = new Map(Object.entries(options.replies).map(([number, text]) => [nationalNumber(number), text]));
  }

  bind(parts: { faults: FaultsBehaviour; sms: SmsBehaviour }): void {
    this.faults = parts.faults;
    this.sms = parts.sms;
    this.sms.addSendCheck((submit) => {
      const code = this.faults.carrierBlockCode;
      if (code === null || this.isServiceNumber(submit.number)) return null;
      return cmsError(code);
    });
    this.sms.afterTransmit((sms) => this.answer(sms));
  }

  onCommand(command: ParsedCommand): Handled | undefined {
    if (command.name !== '+CNUM') return undefined;
    if (command.form === 'test') return [];
    if (command.form !== 'exec') return plainError();
    this.faults.requireSim('cme');
    if (!this.ownNumberKnown) return []; // The SIM does not store its MSISDN: OK and nothing else.
    return [`+CNUM: "","${this.ownNumber}",${this.ownNumber.startsWith('+') ? 145 : 129}`];
  }

  isServiceNumber(number: string): boolean {
    return nationalNumber(number) in CARRIER_SERVICES;
  }

  /** The carrier of the SIM, from its IMSI. */
  carrier(): Carrier | null {
    return carrierOfImsi(this.options.imsi());
  }

  /** Replaces the reply of a service number (null: back to the default balance reply). */
  setReply(number: string, text: string | null): void {
    if (text === null) this.replies.delete(nationalNumber(number));
    else this.replies.set(nationalNumber(number), text);
  }

  /** What a service number answers now. */
  replyOf(number: string): string | null {
    const national = nationalNumber(number);
    const service = CARRIER_SERVICES[national];
    if (!service) return null;
    return this.replies.get(national) ?? service.reply(this.balanceYuan, this.core.clock.now());
  }

  /** The SIM's own number, as the network addresses it (international form). */
  private ownAddress(): string {
    const national = nationalNumber(this.ownNumber);
    return /^1\d{10}$/.test(national) ? `+86${national}` : this.ownNumber;
  }

  private answer(sent: TransmittedSms): void {
    const to = nationalNumber(sent.to);
    if (to === nationalNumber(this.ownNumber)) {
      if (!this.options.loopback) return;
      // The network delivers it back to the SIM that sent it (the self-test).
      this.core.networkTimer(this.options.replyDelayMs, () => this.sms.deliver({ from: this.ownAddress(), text: sent.text }));
      return;
    }
    if (!(to in CARRIER_SERVICES) || !this.options.answerServices) return;
    this.core.networkTimer(this.options.replyDelayMs, () => {
      const text = this.replyOf(to);
      if (text !== null) this.sms.deliver({ from: to, text });
    });
  }

  /**
   * A restriction notice from the carrier: from its service number (default:
   * the one of the SIM's carrier, 10086 for a China Mobile IMSI), with that
   * carrier's text unless one is given. Returns the sender and text used.
   */
  sendNotice(notice: { from?: string; text?: string } = {}): { from: string; text: string } {
    const carrier = this.carrier() ?? 'china-mobile';
    const from = nationalNumber(notice.from ?? SERVICE_OF_CARRIER[carrier]);
    const text = notice.text ?? CARRIER_SERVICES[from]?.notice ?? CARRIER_SERVICES[SERVICE_OF_CARRIER[carrier]]!.notice;
    this.sms.deliver({ from, text });
    return { from, text };
  }
}
