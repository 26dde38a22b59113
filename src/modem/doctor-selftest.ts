import { randomBytes } from 'node:crypto';
import type { AtEngine } from './at/index.js';
import { parseCmgl } from './parse.js';
import { decodePdu, encodeSubmit } from './pdu/index.js';

/**
 * `smsbox doctor --selftest` (issue 17): after the doctor's checks, an SMS to
 * the SIM's own number over the port itself, waited for. Its own module so
 * that doctor.ts only calls it.
 */

export interface DoctorSelftestOptions {
  /** The number to send to when the SIM does not hold it (AT+CNUM answers nothing). */
  ownNumber?: string;
  /** How long to wait for the SMS to come back (default 180 000 ms, as the box's self-test). */
  timeoutMs?: number;
  /** How often the stored messages are listed (default 3000 ms). */
  pollMs?: number;
}

type Out = (line: string) => void;
const ok = (out: Out, zh: string, en: string): void => out(`[ OK ] ${zh} / ${en}`);
const bad = (out: Out, zh: string, en: string): void => out(`[FAIL] ${zh} / ${en}`);
const todo = (out: Out, zh: string, en: string): void => {
  out(`       → ${zh}`);
  out(`       → ${en}`);
};

/** The text of the doctor's self-test SMS (the same tag as the box's, src/sim/selftest.ts). */
export const DOCTOR_SELFTEST_TAG = '[smsbox 自检]';

/** `+CNUM: "","+8613800138000",145` → the number; null when the SIM holds none. */
export function ownNumberFromCnum(lines: readonly string[]): string | null {
  for (const line of lines) {
    const match = /^\+CNUM:\s*(?:"[^"]*"|[^,]*)?\s*,\s*"([^"]+)"/.exec(line.trim());
    if (match && /\d{5,}/.test(match[1]!)) return match[1]!;
  }
  return null;
}

/**
 * The self-test over the port: an SMS to the SIM's own number (AT+CNUM, else
 * --own-number) with a token, then AT+CMGL=4 every few seconds until a message
 * carrying the token is stored (then deleted) or the time is up. Other stored
 * messages are left for the box to read.
 */
export async function doctorSelftest(engine: AtEngine, opts: DoctorSelftestOptions, out: Out): Promise<'ok' | 'failed'> {
  const own = opts.ownNumber || ownNumberFromCnum((await engine.command('AT+CNUM').catch(() => ({ lines: [] as string[] }))).lines);
  if (!own) {
    bad(out, '不知道本机号码（SIM 卡没有存，AT+CNUM 无结果）', 'The own number is unknown (the SIM does not hold it: AT+CNUM gave none)');
    todo(out, '用 --own-number 13800138000 指定本机号码后再试', 'Run again with --own-number 13800138000');
    return 'failed';
  }
  const token = randomBytes(4).toString('hex');
  const started = Date.now();
  try {
    await engine.command('AT+CMGF=0');
    for (const segment of encodeSubmit({ to: own, text: `${DOCTOR_SELFTEST_TAG} ${token}` })) {
      await engine.sendPdu(segment.tpduLength, segment.pdu, { timeoutMs: 60_000 });
    }
  } catch (error) {
    bad(out, `自检短信发送失败：${error instanceof Error ? error.message : String(error)}`, `The self-test SMS was not sent: ${error instanceof Error ? error.message : String(error)}`);
    todo(out, '检查 SIM 卡是否欠费、是否开通短信；可能被运营商限制', 'Check the SIM is paid and has SMS; the carrier may have restricted it');
    return 'failed';
  }
  ok(out, `自检短信已发给本机 ${own}，等待收到…`, `Self-test SMS sent to the own number ${own}; waiting for it…`);
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const pollMs = opts.pollMs ?? 3_000;
  while (Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    let entries: { index: number; pdu: string }[] = [];
    try {
      entries = parseCmgl((await engine.command('AT+CMGL=4', { timeoutMs: 15_000 })).lines);
    } catch {
      continue;
    }
    for (const entry of entries) {
      let text: string | null = null;
      try {
        const decoded = decodePdu(entry.pdu);
        if (decoded.type === 'deliver') text = decoded.text;
      } catch {
        // not ours
      }
      if (text === null || !text.includes(token)) continue;
      await engine.command(`AT+CMGD=${entry.index}`).catch(() => {});
      const seconds = Math.round((Date.now() - started) / 1000);
      ok(out, `自检成功：${seconds} 秒后收到了发给本机的短信，收发正常`, `Self-test passed: the SMS to the own number came back after ${seconds} s; sending and receiving work`);
      return 'ok';
    }
  }
  bad(out, `自检失败：${Math.round(timeoutMs / 1000)} 秒内没有收到发给本机的短信`, `Self-test failed: the SMS to the own number did not come back within ${Math.round(timeoutMs / 1000)} s`);
  todo(out, `检查本机号码 ${own} 是否正确；SIM 卡是否开通接收短信（LTE 下需要 VoLTE/IMS）`, `Check the own number ${own} is right and the SIM receives SMS (on LTE it needs VoLTE/IMS)`);
  return 'failed';
}
