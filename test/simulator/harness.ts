/** Test harness around a VirtualModem: a terminal that collects its output, and timers the test drives. */
import { ManualClock } from '../../src/clock.js';
import { decodePdu, encodeSubmit } from '../../src/modem/pdu/index.js';
import { VirtualModem, type ModemTimers, type VirtualModemOptions } from '../../hardware/simulator/virtual-modem.js';

/** Timers that fire only when the test advances time, so every session is deterministic. */
export class ManualTimers implements ModemTimers {
  private pending: { at: number; seq: number; callback: () => void }[] = [];
  private seq = 0;
  constructor(private readonly clock: ManualClock) {}

  setTimeout(callback: () => void, ms: number): unknown {
    const entry = { at: this.clock.now() + ms, seq: this.seq++, callback };
    this.pending.push(entry);
    return entry;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((entry) => entry !== handle);
  }

  /** Moves the clock forward, firing due timers in order. */
  advance(ms: number): void {
    const target = this.clock.now() + ms;
    for (;;) {
      this.pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.pending[0];
      if (!next || next.at > target) break;
      this.pending.shift();
      this.clock.set(Math.max(this.clock.now(), next.at));
      next.callback();
    }
    this.clock.set(target);
  }
}

export const SEND_MS = 100;
/** 2026-11-25 09:30:00 Asia/Shanghai. */
export const START = Date.UTC(2026, 10, 25, 1, 30, 0);

export interface Session {
  modem: VirtualModem;
  clock: ManualClock;
  timers: ManualTimers;
  /** Output since the last take(), as latin1 text (the modem speaks bytes). */
  take(): string;
  /** Writes a command line terminated by CR and returns everything the modem answered synchronously. */
  at(line: string): string;
  /** Lets queued microtasks (power actions after a final result) run. */
  settle(): Promise<void>;
}

export function session(options: VirtualModemOptions = {}): Session {
  const clock = new ManualClock(START);
  const timers = new ManualTimers(clock);
  const modem = new VirtualModem({ sendMs: SEND_MS, statusReportDelayMs: 1000, bootMs: 5000, clock, timers, ...options });
  let output = '';
  modem.on('data', (chunk) => {
    output += chunk.toString('latin1');
  });
  const take = (): string => {
    const text = output;
    output = '';
    return text;
  };
  return {
    modem,
    clock,
    timers,
    take,
    at(line: string): string {
      take();
      modem.write(`${line}\r`);
      return take();
    },
    settle: () => new Promise((resolve) => setImmediate(resolve)),
  };
}

/** A session with echo off and verbose errors, as the box's init leaves the modem. */
export function quietSession(options: VirtualModemOptions = {}): Session {
  const s = session(options);
  s.at('ATE0');
  s.take();
  return s;
}

/** The PDU lines (hex only) in a modem answer. */
export function pduLines(text: string): string[] {
  return text.split('\r\n').filter((line) => /^[0-9A-F]{20,}$/.test(line));
}

/**
 * Sends a text through AT+CMGS, one segment after the other as a driver does,
 * and returns each segment's answer (`+CMGS: n` + OK, or the error).
 */
export function sendText(s: Session, to: string, text: string): string[] {
  const answers: string[] = [];
  for (const part of encodeSubmit({ to, text })) {
    const prompt = s.at(`AT+CMGS=${part.tpduLength}`);
    if (!prompt.endsWith('> ')) {
      answers.push(prompt);
      continue;
    }
    s.modem.write(part.pdu + '\x1a');
    s.timers.advance(SEND_MS);
    answers.push(s.take());
  }
  return answers;
}

/**
 * The senders and texts of every SMS in storage, read the way the box reads
 * them: the parts of a long SMS joined (in storage order of their first part).
 */
export function storedTexts(s: Session): { from: string; text: string }[] {
  const texts: { from: string; text: string; parts?: Map<number, string>; total?: number }[] = [];
  const multiparts = new Map<string, { from: string; text: string; parts: Map<number, string>; total: number }>();
  for (const stored of s.modem.stored()) {
    const decoded = decodePdu(stored.pdu);
    if (decoded.type !== 'deliver') continue;
    if (!decoded.concat || decoded.concat.total <= 1) {
      texts.push({ from: decoded.number, text: decoded.text });
      continue;
    }
    const key = `${decoded.number}|${decoded.concat.ref}|${decoded.concat.total}`;
    let entry = multiparts.get(key);
    if (!entry) {
      entry = { from: decoded.number, text: '', parts: new Map(), total: decoded.concat.total };
      multiparts.set(key, entry);
      texts.push(entry);
    }
    entry.parts.set(decoded.concat.part, decoded.text);
  }
  return texts.map((m) => ({
    from: m.from,
    text: m.parts ? [...m.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, part]) => part).join('') : m.text,
  }));
}
