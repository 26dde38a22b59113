/**
 * Pure readers of the modem's answer lines (3GPP TS 27.007 / 27.005 formats as
 * SIMCom and Quectel print them). No I/O: modem.ts and doctor.ts both use them,
 * and they are table- and property-tested on their own.
 */

export type SimState = 'ready' | 'no-sim' | 'pin-required' | 'puk-required' | 'other';

/** `+CPIN: READY` / `+CPIN: SIM PIN` / `+CPIN: SIM PUK` … (27.007 §8.3). */
export function parseCpin(line: string): { state: SimState; code: string } | null {
  const m = /^\+CPIN:\s*"?([^"]+?)"?\s*$/i.exec(line.trim());
  if (!m) return null;
  const code = m[1]!.toUpperCase();
  if (code === 'READY') return { state: 'ready', code };
  if (code === 'SIM PIN' || code === 'PH-SIM PIN' || code === 'SIM PIN2') return { state: 'pin-required', code };
  if (code === 'SIM PUK' || code === 'SIM PUK2' || code === 'PH-SIM PUK') return { state: 'puk-required', code };
  if (code === 'NOT INSERTED' || code === 'SIM REMOVED' || code === 'NOT READY') return { state: 'no-sim', code };
  return { state: 'other', code };
}

/**
 * The +CME ERROR numbers (27.007 §9.2.1) that mean the SIM is missing, locked or
 * broken: 10 not inserted, 11 PIN required, 12 PUK required, 13 failure,
 * 14 busy, 15 wrong, 16 incorrect password.
 */
export function simStateFromCme(code: number | null, text: string): SimState | null {
  if (code === 10 || code === 13 || code === 15 || /not inserted|sim failure|sim wrong|removed/i.test(text)) return 'no-sim';
  if (code === 11 || /pin required/i.test(text)) return 'pin-required';
  if (code === 12 || /puk required/i.test(text)) return 'puk-required';
  return null;
}

export type RegistrationStat = 'not-registered' | 'home' | 'searching' | 'denied' | 'unknown' | 'roaming' | 'other';

const STAT_NAMES: Record<number, RegistrationStat> = {
  0: 'not-registered',
  1: 'home',
  2: 'searching',
  3: 'denied',
  4: 'unknown',
  5: 'roaming',
};

/**
 * `+CREG: <n>,<stat>[,<lac>,<ci>[,<AcT>]]` (read form, 27.007 §7.2) or the
 * URC form `+CREG: <stat>[,…]`. Also `+CGREG` and `+CEREG`. Stats 6-10 (SMS
 * only, emergency, CSFB …) are mapped: 6/7 "SMS only" count as home/roaming,
 * since SMS is all the box needs.
 */
export function parseRegistration(line: string): { command: string; stat: RegistrationStat } | null {
  const m = /^(\+C(?:E|G)?REG):\s*(.*)$/i.exec(line.trim());
  if (!m) return null;
  const fields = m[2]!.split(',').map((f) => f.trim());
  // Read form: first field <n> (0-2, or 3-5 on newer firmware), second <stat>; the URC has <stat> first
  // followed by a quoted LAC. Two bare numbers in a row mean the read form.
  const readForm = fields.length >= 2 && /^\d+$/.test(fields[0]!) && /^\d+$/.test(fields[1]!);
  const raw = readForm ? fields[1]! : fields[0]!;
  if (!/^\d+$/.test(raw)) return null;
  const n = Number(raw);
  const stat = n === 6 ? 'home' : n === 7 ? 'roaming' : (STAT_NAMES[n] ?? 'other');
  return { command: m[1]!.toUpperCase(), stat };
}

export interface Signal {
  /** 0-31, or null when the modem reports 99 (not known or not detectable). */
  csq: number | null;
  dbm: number | null;
  /** 0-5 bars, null when unknown. */
  bars: number | null;
}

/** CSQ <rssi> → dBm per 27.007 §8.5: 0 ≤ -113, 1 = -111, 2…30 = -109…-53 in 2 dB steps, 31 ≥ -51. */
export function csqToSignal(rssi: number): Signal {
  if (!Number.isInteger(rssi) || rssi < 0 || rssi > 31) return { csq: null, dbm: null, bars: null };
  const dbm = -113 + 2 * rssi;
  return { csq: rssi, dbm, bars: csqBars(rssi) };
}

/**
 * Bars as phones draw them, roughly: below CSQ 2 nothing usable, under 10 (≈ -95 dBm)
 * weak — SMS may still pass but fail often — and 25 and up full strength.
 */
export function csqBars(rssi: number): number {
  if (rssi < 2) return 0;
  if (rssi < 10) return 1;
  if (rssi < 15) return 2;
  if (rssi < 20) return 3;
  if (rssi < 25) return 4;
  return 5;
}

/** Below this CSQ the signal is "weak": the doctor warns and the box writes an event. */
export const WEAK_SIGNAL_CSQ = 10;

export function parseCsq(line: string): Signal | null {
  const m = /^\+CSQ:\s*(\d+)\s*,\s*(\d+)/i.exec(line.trim());
  if (!m) return null;
  return csqToSignal(Number(m[1]));
}

/** `+COPS: <mode>[,<format>,"<oper>"[,<AcT>]]` → the operator name, or null when not registered. */
export function parseCops(line: string): string | null {
  const m = /^\+COPS:\s*\d+\s*,\s*\d+\s*,\s*"([^"]*)"/i.exec(line.trim());
  if (!m || m[1]!.trim() === '') return null;
  return m[1]!.trim();
}

/**
 * `+CSCA: "<sca>",<tosca>` → the service centre number, or null when the SIM
 * carries none (empty string). A UCS2 hex form (when AT+CSCS="UCS2") is decoded.
 */
export function parseCsca(line: string): string | null {
  const m = /^\+CSCA:\s*"([^"]*)"/i.exec(line.trim());
  if (!m) return null;
  let sca = m[1]!.trim();
  if (sca.length >= 8 && /^(00[0-9A-F]{2})+$/i.test(sca)) {
    sca = Buffer.from(sca, 'hex').swap16().toString('utf16le');
  }
  return /\d/.test(sca) ? sca : null;
}

/** The first line of `+CMTI: "SM",3` / `+CDSI: "SM",3` → memory and index. */
export function parseStoredIndication(line: string): { memory: string; index: number } | null {
  const m = /^\+(?:CMTI|CDSI):\s*"?([A-Z]{2})"?\s*,\s*(\d+)/i.exec(line.trim());
  if (!m) return null;
  return { memory: m[1]!.toUpperCase(), index: Number(m[2]) };
}

/** `+CMGL: <index>,<stat>,[<alpha>],<length>` (PDU mode) → index and stat. */
export function parseCmglHeader(line: string): { index: number; stat: number } | null {
  const m = /^\+CMGL:\s*(\d+)\s*,\s*(\d+)/i.exec(line.trim());
  return m ? { index: Number(m[1]), stat: Number(m[2]) } : null;
}

/** Pairs the header and PDU lines of an AT+CMGL answer. Lines that do not fit the pattern are skipped. */
export function parseCmgl(lines: string[]): { index: number; stat: number; pdu: string }[] {
  const out: { index: number; stat: number; pdu: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const header = parseCmglHeader(lines[i]!);
    if (!header) continue;
    const next = lines[i + 1]?.trim() ?? '';
    if (/^[0-9A-F]+$/i.test(next)) {
      out.push({ ...header, pdu: next.toUpperCase() });
      i++;
    }
  }
  return out;
}

/** The PDU line of an AT+CMGR answer (`+CMGR: <stat>,[<alpha>],<length>` then hex). */
export function parseCmgr(lines: string[]): { stat: number; pdu: string } | null {
  for (let i = 0; i < lines.length; i++) {
    const m = /^\+CMGR:\s*(\d+)/i.exec(lines[i]!.trim());
    const next = lines[i + 1]?.trim() ?? '';
    if (m && /^[0-9A-F]+$/i.test(next)) return { stat: Number(m[1]), pdu: next.toUpperCase() };
  }
  return null;
}

/** `+CMGS: <mr>` → TP-MR. */
export function parseCmgs(lines: string[]): number | null {
  for (const line of lines) {
    const m = /^\+CMGS:\s*(\d+)/i.exec(line.trim());
    if (m) return Number(m[1]);
  }
  return null;
}

/**
 * `+CCLK: "yy/MM/dd,hh:mm:ss±zz"` → the instant, or null when the text does not
 * parse or the year is before `validFromYear` (an RTC never set: 80/01/06 on
 * Qualcomm modules, 04/01/01 on SIM800). `zz` is the zone in quarter hours
 * (27.007 §8.15); a missing zone is read as UTC. Two-digit years 00-69 are 20yy, 70-99 19yy.
 */
export function parseCclk(line: string, validFromYear = 2020): Date | null {
  const m = /^(?:\+CCLK:\s*)?"?(\d{2})\/(\d{2})\/(\d{2}),(\d{2}):(\d{2}):(\d{2})(?:([+-])(\d{1,2}))?"?\s*$/i.exec(line.trim());
  if (!m) return null;
  // 80/01/06 is the GPS epoch a Qualcomm RTC starts from: two-digit years 70-99 are 19yy.
  const yy = Number(m[1]);
  const year = yy >= 70 ? 1900 + yy : 2000 + yy;
  const [month, day, hour, minute, second] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  if (year < validFromYear) return null;
  const quarters = m[7] ? (m[7] === '-' ? -1 : 1) * Number(m[8]) : 0;
  if (Math.abs(quarters) > 96) return null;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second) - quarters * 15 * 60_000);
}

/**
 * Network time from a URC, where the URC carries the time:
 * - `+CTZE: "+32",0,"2026/11/25,09:30:00"` (27.007 §8.41 extended form: local time),
 * - `*PSUTTZ: 2026,11,25,1,30,0,"+32",0` (SIMCom SIM800: universal time, then zone).
 * `+CTZV: +32` carries only the zone: null.
 */
export function parseNetworkTimeUrc(line: string): Date | null {
  const ctze = /^\+CTZE:\s*"?([+-]\d{1,2})"?\s*,\s*\d+\s*,\s*"(\d{4})\/(\d{2})\/(\d{2}),(\d{2}):(\d{2}):(\d{2})"/i.exec(line.trim());
  if (ctze) {
    const quarters = Number(ctze[1]);
    const [y, mo, d, h, mi, s] = ctze.slice(2, 8).map(Number) as [number, number, number, number, number, number];
    return new Date(Date.UTC(y, mo - 1, d, h, mi, s) - quarters * 15 * 60_000);
  }
  const psuttz = /^\*PSUTTZ:\s*(\d{2,4})\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)/i.exec(line.trim());
  if (psuttz) {
    let year = Number(psuttz[1]);
    if (year < 100) year += 2000;
    const [mo, d, h, mi, s] = psuttz.slice(2, 7).map(Number) as [number, number, number, number, number];
    return new Date(Date.UTC(year, mo - 1, d, h, mi, s));
  }
  return null;
}

// ------------------------------------------------------------------ radio: access technology, IMS, SMS path
// Answer shapes as in /work/coord/at-contract.md §1-§5; sources:
//  [27007] 3GPP TS 27.007 §7.1 +CNUM, §7.3 +COPS, §8.71 +CIREG; [S76] SIMCom SIM7500/SIM7600
//  AT Command Manual V2.00 (AT+CPSI?); [Q25] Quectel EC25&EC21 AT Commands Manual V1.3
//  (AT+QNWINFO, AT+QCFG="ims").

/** The access technology the module is registered on. */
export type Rat = 'gsm' | 'umts' | 'lte' | 'unknown';

/** How an SMS leaves the module: CS (2G/3G), SGs (LTE, CS fallback for SMS), IMS (SMS over IP), none, or unknown. */
export type SmsPath = 'cs' | 'sgs' | 'ims' | 'none' | 'unknown';

/** `+COPS: <mode>,<format>,"<oper>",<AcT>` → the RAT of <AcT> [27007 §7.3]; null without an AcT. */
export function parseCopsAct(line: string): Rat | null {
  const m = /^\+COPS:\s*\d+\s*,\s*\d+\s*,\s*"[^"]*"\s*,\s*(\d+)/i.exec(line.trim());
  if (!m) return null;
  const act = Number(m[1]);
  if (act === 0 || act === 1 || act === 3 || act === 8) return 'gsm'; // GSM, GSM compact, GSM w/EGPRS, EC-GSM-IoT
  if (act === 2 || act === 4 || act === 5 || act === 6) return 'umts'; // UTRAN and its HSPA variants
  if (act === 7 || act === 9 || act === 10) return 'lte'; // E-UTRAN (and its IoT / 5GC-connected forms)
  return 'unknown';
}

/** A vendor system-mode name → RAT. */
function ratFromName(name: string): Rat | null {
  const n = name.trim().replace(/^"|"$/g, '').toUpperCase();
  if (n === '' ) return null;
  if (/^NO SERVICE$/.test(n)) return 'unknown';
  if (/^(GSM|GPRS|EDGE|EGPRS)$/.test(n)) return 'gsm';
  if (/^(WCDMA|HSDPA|HSUPA|HSPA\+?|HSDPA\/HSUPA|TDSCDMA|TD-SCDMA|UMTS|CDMA|EVDO|HDR)$/.test(n)) return 'umts';
  if (/LTE|E-UTRAN|CAT-?M|NB-?IOT/.test(n)) return 'lte';
  return null;
}

/** SIMCom `+CPSI: <system mode>,<operation mode>,…` [S76] → RAT; `NO SERVICE` → unknown. */
export function parseCpsi(line: string): Rat | null {
  const m = /^\+CPSI:\s*([^,]+)/i.exec(line.trim());
  return m ? ratFromName(m[1]!) : null;
}

/** Quectel `+QNWINFO: "<AcT>","<oper>","<band>",<channel>` [Q25] → RAT; `No Service` → unknown. Quotes optional. */
export function parseQnwinfo(line: string): Rat | null {
  const m = /^\+QNWINFO:\s*("?)([^",]+)\1/i.exec(line.trim());
  return m ? ratFromName(m[2]!) : null;
}

/** The profile's own RAT answer (AT+CPSI? or AT+QNWINFO), whichever it is. */
export function parseVendorRat(line: string): Rat | null {
  return parseCpsi(line) ?? parseQnwinfo(line);
}

/**
 * IMS registration: `+CIREG: <n>,<reg_info>[,<ext_info>]` [27007 §8.71] (true
 * when reg_info is 1), or Quectel's `+QCFG: "ims",<ctrl>,<state>` (true when
 * VoLTE is ready, state 1) [Q25]. Null for anything else.
 */
export function parseImsRegistration(line: string): boolean | null {
  const text = line.trim();
  const cireg = /^\+CIREG:\s*\d+\s*,\s*(\d+)/i.exec(text);
  if (cireg) return cireg[1] === '1';
  const qcfg = /^\+QCFG:\s*"ims"\s*,\s*(\d+)\s*(?:,\s*(\d+))?/i.exec(text);
  if (qcfg) return qcfg[2] === undefined ? null : qcfg[2] === '1';
  return null;
}

/** `+CNUM: [<alpha>],"<number>",<type>[,…]` [27007 §7.1] → the first number; null when the SIM does not know it. */
export function parseCnum(lines: string[]): string | null {
  for (const line of lines) {
    const m = /^\+CNUM:\s*(?:"[^"]*"|[^,]*)\s*,\s*"([^"]*)"/i.exec(line.trim());
    if (m && /^\+?\d{3,20}$/.test(m[1]!.trim())) return m[1]!.trim();
  }
  return null;
}

/** AT+CIMI → the IMSI (up to 15 digits, on a line of its own); null otherwise. */
export function parseCimi(lines: string[]): string | null {
  for (const line of lines) {
    const m = /^(?:\+CIMI:\s*)?(\d{6,15})$/i.exec(line.trim());
    if (m) return m[1]!;
  }
  return null;
}

/**
 * The SMS path of a registered module (at-contract.md §2): on 2G/3G the CS
 * domain; on LTE IMS when IMS is registered, else SGs when the CS domain is
 * registered too (combined attach), else none. Unknown where the answers do
 * not say: not registered, no RAT, or LTE without CS registration on a
 * module that cannot tell whether IMS is registered.
 */
export function decideSmsPath(input: { registered: boolean; rat: Rat; csRegistered: boolean; imsRegistered: boolean | null }): SmsPath {
  if (!input.registered) return 'unknown';
  if (input.rat === 'gsm' || input.rat === 'umts') return 'cs';
  if (input.rat !== 'lte') return 'unknown';
  if (input.imsRegistered === true) return 'ims';
  if (input.csRegistered) return 'sgs';
  return input.imsRegistered === false ? 'none' : 'unknown';
}

// ------------------------------------------------------------------ calls
// [27007] §7.6 +CLIP: <number>,<type>[,<subaddr>,<satype>[,[<alpha>][,<CLI validity>]]];
// SIMCom "MISSED_CALL: <time> <number>" (at-contract.md §6).

/** `+CLIP: "+8613800138000",145,…` → the caller's number; null when withheld or not available. */
export function parseClip(line: string): { number: string | null } | null {
  const m = /^\+CLIP:\s*"([^"]*)"/i.exec(line.trim());
  if (!m) return null;
  const number = m[1]!.trim();
  return { number: /^\+?\d{3,20}$/.test(number) ? number : null };
}

/** SIMCom `MISSED_CALL: 11:53AM +8613800138000` → the number; null otherwise. */
export function parseMissedCall(line: string): string | null {
  const m = /^MISSED_CALL:.*?(\+?\d{3,20})\s*$/i.exec(line.trim());
  return m ? m[1]! : null;
}
