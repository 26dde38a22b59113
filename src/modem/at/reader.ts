/**
 * Lines and prompts → what they mean, given the command in flight. Pure
 * (no I/O, no timers): the engine feeds it tokens and tells it, through
 * {@link ReaderContext}, which command is waiting, and gets back one event
 * per line.
 *
 * ## Which line belongs to whom
 * A modem mixes three kinds of lines on one wire: the echo and answer of the
 * command in flight, unsolicited result codes (URCs), and leftovers (the late
 * answer of a command we gave up on). The rule, in order, for each line:
 *
 * 1. The second line of a two-line URC (`+CMT: ,<len>`, `+CDS: <len>`,
 *    `+CBM: <len>`) is that URC's PDU, whatever else is going on. In PDU mode
 *    it must look like hex; if it does not, the URC is delivered without a
 *    PDU and the line goes through the rules below (so a lost PDU line cannot
 *    swallow the `OK` that ends a command).
 * 2. With a command in flight:
 *    a. the echo of the command (or of the payload written after a `> `
 *       prompt) is dropped;
 *    b. a final result code ends the command (`NO CARRIER`, `BUSY`… only for
 *       a dial or answer, `ATD`/`ATA`: during any other command they are the
 *       caller giving up, a URC);
 *    c. a line that starts with the command's response prefix + `:` is an
 *       information line of the command. The response prefix is the
 *       `expectPrefix` option if given, else the command's own name: the part
 *       after `AT` up to `=`, `?` or the end (`AT+CREG?` → `+CREG`). So
 *       `+CREG: 0,1` answers `AT+CREG?`, while the same `+CREG: 1` during
 *       `AT+CSQ` is a URC. (A `+CREG` URC that arrives in the very middle of
 *       `AT+CREG?` is taken as a second answer line: the two cannot be told
 *       apart on the wire; the caller reads the answer line it expects.)
 *    d. a known URC (see {@link KNOWN_URCS}) is a URC;
 *    e. anything else is an information line — unless `expectPrefix` was
 *       given, which says "only lines with this prefix are mine": then it is
 *       unclaimed (logged and counted by the engine, never lost silently).
 * 3. With no command in flight: a known URC is a URC (including `NO CARRIER`
 *    and `BUSY`, which are only final codes while a command waits); a final
 *    code, a command echo or any other line is unclaimed.
 *
 * ## Reboots
 * `RDY` and `START` are printed only by a module that has just booted: they
 * always mean "the modem restarted". A module whose banner we miss (it was
 * printed before our port opened, or autobauding swallowed it) is still
 * recognised by `+CPIN: READY` followed by `SMS Ready`/`SMS DONE` — except
 * right after `AT+CFUN`/`AT+CPIN`/`AT+CRESET`, which make a module print
 * exactly that without a restart (or with one we asked for).
 */

export interface AtUrc {
  /** `+CMTI`, `RING`, `RDY`, `SMS Ready`, `+CREG`, `*PSUTTZ`, … (as listed in {@link KNOWN_URCS}). */
  name: string;
  /** The whole line as received (noise removed). */
  line: string;
  /** For two-line URCs (`+CMT`, `+CDS`, `+CBM`): the second line (a PDU in PDU mode). */
  pdu?: string;
}

export type FinalResult =
  | { ok: true }
  | { ok: false; kind: 'error' | 'cme' | 'cms'; detail: string };

export type AtEvent =
  | { type: 'echo'; line: string }
  | { type: 'info'; line: string }
  | { type: 'final'; result: FinalResult; line: string }
  | { type: 'prompt' }
  | { type: 'urc'; urc: AtUrc }
  | { type: 'reboot'; line: string }
  | { type: 'unclaimed'; line: string; reason: 'final' | 'echo' | 'prompt' | 'unknown' | 'unexpected' };

export interface CommandContext {
  /** As written, without CR: `AT+CREG?`. */
  command: string;
  /** Upper-case response prefix (`+CREG`), or null for basic commands (`ATE0`). */
  prefix: string | null;
  /** True when the prefix came from `expectPrefix`: only lines with it are the command's. */
  exclusive: boolean;
  /** Written after the prompt; its echo is dropped. */
  payload?: string;
}

export interface ReaderContext {
  inFlight(): CommandContext | null;
  /** The response prefix of the command in flight or, when idle, of the last one. */
  recentPrefix(): string | null;
}

/**
 * URCs we route. Names beginning with a symbol match `NAME:`; plain words
 * match the whole line. Compared without regard to case.
 */
export const KNOWN_URCS: readonly string[] = [
  // SMS (27.005 §3.4.1)
  '+CMTI', '+CMT', '+CDS', '+CDSI', '+CBM', '+CBMI',
  // calls (V.25ter, 27.007): a shop SIM does get called
  'RING', '+CRING', '+CLIP', '+CCWA', '+CUSD',
  // SIMCom's call-end reports (SIM7600 manual: "VOICE CALL: END: <time>", "MISSED_CALL: <time> <number>")
  'VOICE CALL', 'MISSED_CALL',
  // boot and readiness (SIMCom, Quectel)
  'RDY', 'START', '*ATREADY', 'SMS Ready', 'SMS DONE', 'Call Ready', 'PB DONE', '+CPIN', '+CFUN', '+SIMCARD',
  '+QIND', '+QUSIM',
  'NORMAL POWER DOWN', 'UNDER-VOLTAGE POWER DOWN', 'UNDER-VOLTAGE WARNNING', 'UNDER-VOLTAGE WARNING',
  'OVER-VOLTAGE POWER DOWN', 'OVER-VOLTAGE WARNNING', 'OVER-VOLTAGE WARNING',
  // registration (27.007 §7.2, §10.1.20, §10.1.22)
  '+CREG', '+CGREG', '+CEREG', '+C5GREG',
  // network time (27.007 §8.41 +CTZV/+CTZE, SIMCom *PSUTTZ/+PSUTTZ/DST, NITZ)
  '+CTZV', '+CTZE', '*PSUTTZ', '+PSUTTZ', 'DST', '+NITZ', 'NITZ',
];

const TWO_LINE_URCS = new Set(['+CMT', '+CDS', '+CBM']);
const BOOT_BANNERS = new Set(['RDY', 'START', '*ATREADY']);
const SMS_READY = new Set(['SMS Ready', 'SMS DONE']);
/** Commands after which `+CPIN: READY` + `SMS Ready` is expected without an unasked restart. */
const READY_AFTER = new Set(['+CFUN', '+CPIN', '+CRESET']);
/** Final codes only while a command waits (a dial); URCs otherwise. */
const CALL_FINALS = new Set(['NO CARRIER', 'BUSY', 'NO ANSWER', 'NO DIALTONE']);

/** `AT+CREG?` → `+CREG`; `ATE0` → null. Only the first command of a `;` chain counts. */
export function responsePrefixOf(command: string): string | null {
  const match = /^AT([+*^#$%][A-Z0-9_]+)/i.exec(command.trim());
  return match?.[1] ? match[1].toUpperCase() : null;
}

/** The final result code a line is, or null. `callFinals`: treat NO CARRIER, BUSY… as final. */
export function parseFinalResult(line: string, callFinals = true): FinalResult | null {
  const upper = line.toUpperCase();
  if (upper === 'OK') return { ok: true };
  if (upper === 'ERROR' || upper === 'COMMAND NOT SUPPORT' || upper === 'ABORTED') {
    return { ok: false, kind: 'error', detail: line };
  }
  const extended = /^\+(CME|CMS) ERROR:?\s*(.*)$/i.exec(line);
  if (extended) {
    const kind = extended[1]!.toUpperCase() === 'CME' ? 'cme' : 'cms';
    return { ok: false, kind, detail: (extended[2] ?? '').trim().replace(/^"(.*)"$/, '$1') };
  }
  if (callFinals && CALL_FINALS.has(upper)) return { ok: false, kind: 'error', detail: line };
  return null;
}

export class AtReader {
  private readonly urcNames: readonly string[];
  private twoLine: { name: string; line: string; expectHex: boolean } | null = null;
  /** Set by a boot banner; the `SMS Ready` that follows it belongs to the same boot. */
  private bootInProgress = false;
  private unsolicitedCpinReady = false;

  constructor(
    private readonly context: ReaderContext,
    extraUrcs: readonly string[] = [],
  ) {
    this.urcNames = [...KNOWN_URCS, ...extraUrcs];
  }

  prompt(emit: (event: AtEvent) => void): void {
    const inFlight = this.context.inFlight();
    if (inFlight?.payload !== undefined) emit({ type: 'prompt' });
    else emit({ type: 'unclaimed', line: '> ', reason: 'prompt' });
  }

  line(line: string, emit: (event: AtEvent) => void): void {
    if (this.twoLine) {
      const head = this.twoLine;
      this.twoLine = null;
      if (!head.expectHex || /^[0-9A-F]+$/i.test(line)) {
        emit({ type: 'urc', urc: { name: head.name, line: head.line, pdu: line } });
        return;
      }
      emit({ type: 'urc', urc: { name: head.name, line: head.line } });
    }

    const inFlight = this.context.inFlight();
    const upper = line.toUpperCase();
    if (inFlight) {
      if (upper === inFlight.command.trim().toUpperCase()) return emit({ type: 'echo', line });
      if (inFlight.payload !== undefined && upper === inFlight.payload.toUpperCase()) {
        return emit({ type: 'echo', line });
      }
      const final = parseFinalResult(line, isCallCommand(inFlight.command));
      if (final) return emit({ type: 'final', result: final, line });
      if (inFlight.prefix && hasPrefix(upper, inFlight.prefix)) return emit({ type: 'info', line });
      if (this.urc(line, upper, emit)) return;
      if (CALL_FINALS.has(upper)) return emit({ type: 'urc', urc: { name: upper, line } });
      if (inFlight.exclusive) return emit({ type: 'unclaimed', line, reason: 'unexpected' });
      return emit({ type: 'info', line });
    }

    if (/^AT/i.test(line)) return emit({ type: 'unclaimed', line, reason: 'echo' });
    if (this.urc(line, upper, emit)) return;
    if (CALL_FINALS.has(upper)) return emit({ type: 'urc', urc: { name: upper, line } });
    if (parseFinalResult(line, false)) return emit({ type: 'unclaimed', line, reason: 'final' });
    emit({ type: 'unclaimed', line, reason: 'unknown' });
  }

  /** Emits the URC (and a reboot) if the line is a known URC; false if it is not one. */
  private urc(line: string, upper: string, emit: (event: AtEvent) => void): boolean {
    const name = this.urcNames.find((candidate) => hasPrefix(upper, candidate.toUpperCase()));
    if (name === undefined) return false;

    if (TWO_LINE_URCS.has(name)) {
      const fields = line.slice(line.indexOf(':') + 1).split(',');
      const last = fields[fields.length - 1]?.trim() ?? '';
      const pduModeHeader = /^\d+$/.test(last) && fields.length <= 2;
      // +CDS in text mode is one line of fields; only its PDU-mode form has a second line.
      if (name !== '+CDS' || pduModeHeader) {
        this.twoLine = { name, line, expectHex: pduModeHeader };
        return true;
      }
    }

    emit({ type: 'urc', urc: { name, line } });

    if (BOOT_BANNERS.has(name)) {
      this.bootInProgress = true;
      this.unsolicitedCpinReady = false;
      emit({ type: 'reboot', line });
    } else if (name === '+CPIN' && /READY/i.test(line)) {
      this.unsolicitedCpinReady = true;
    } else if (SMS_READY.has(name)) {
      const recent = this.context.recentPrefix();
      const restartedUnasked = this.unsolicitedCpinReady && !this.bootInProgress && !(recent && READY_AFTER.has(recent));
      this.bootInProgress = false;
      this.unsolicitedCpinReady = false;
      if (restartedUnasked) emit({ type: 'reboot', line });
    }
    return true;
  }
}

/** A dial or an answer (`ATD…`, `ATA`): the only commands whose final code may be `NO CARRIER` or `BUSY`. */
function isCallCommand(command: string): boolean {
  return /^AT(D|A$)/i.test(command.trim());
}

function hasPrefix(upperLine: string, upperName: string): boolean {
  return upperLine === upperName || upperLine.startsWith(`${upperName}:`);
}
