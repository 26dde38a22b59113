/**
 * The virtual HAT's public vocabulary: faults, what it transmitted, what the
 * network delivers, its options. virtual-modem.ts re-exports all of it, so
 * callers keep importing from there.
 */
import type { Clock, Timers } from '../../src/clock.js';
import type { StorageCapacity } from './sms-storage.js';

export type RegistrationState = 'home' | 'roaming' | 'searching' | 'denied' | 'none';

export type ModemFault =
  /** The SIM is gone: +CPIN answers SIM not inserted, nothing registers, SMS commands fail with 310. */
  | { kind: 'no-sim' }
  /** No coverage: registration "searching", +CSQ 99, sends fail with +CMS ERROR: 331. */
  | { kind: 'no-network' }
  /** The next `count` (default 1) sends fail with `+CMS ERROR: <code>` (default 500) after the usual send time. */
  | { kind: 'cms-error'; code?: number; count?: number }
  /** The firmware hangs: no echo, no answers, no URCs, until clear() or a power cycle. */
  | { kind: 'silence' }
  /** Line noise: bursts of random bytes between the modem's output chunks, until clear(). */
  | { kind: 'garbage'; probability?: number }
  /** The module restarts at once (an in-flight send is lost, not transmitted) and prints its boot URCs. */
  | { kind: 'reboot' };

export type FaultKind = ModemFault['kind'];
export const FAULT_KINDS: readonly FaultKind[] = [
  'no-sim',
  'no-network',
  'cms-error',
  'silence',
  'garbage',
  'reboot',
];

/** One complete SMS the virtual modem put on the air, reassembled from its segments. */
export interface TransmittedSms {
  to: string;
  text: string;
  segments: number;
  /** ISO 8601 time of the last segment. */
  at: string;
  encoding: 'gsm7' | '8bit' | 'ucs2';
  /** TP-MR the modem answered in +CMGS for each segment, in part order. */
  messageRefs: number[];
}

/** One SMS-SUBMIT the modem accepted (+CMGS answered). */
export interface TransmittedSegment {
  to: string;
  text: string;
  messageRef: number;
  part: number;
  total: number;
  statusReportRequest: boolean;
  at: string;
}

export interface InboundSms {
  from: string;
  text: string;
  /** Service-centre time stamp; defaults to the modem's clock. */
  at?: Date;
  /** Use a 16-bit concatenation reference when the text needs several parts. */
  concatRef16?: boolean;
}

export type ModemTimers = Timers;

export interface ModemIdentity {
  manufacturer: string;
  model: string;
  revision: string;
  imei: string;
  imsi: string;
  iccid: string;
}

export interface NetworkOperator {
  longName: string;
  shortName: string;
  numeric: string;
}

export interface VirtualModemOptions {
  /** Time the radio takes per segment between Ctrl-Z and +CMGS (default 1500 ms). */
  sendMs?: number;
  /** Power-on to RDY (default 3000 ms; a real SIM7600 takes 10-15 s). */
  bootMs?: number;
  /** RDY to SMS DONE / PB DONE (default 0). */
  smsReadyMs?: number;
  /** Boot to network registration (default 0: registered as soon as RDY is printed). */
  registerMs?: number;
  /** Submit to status report, when one was requested (default 2000 ms). */
  statusReportDelayMs?: number;
  /** TP-ST of the status reports the network sends back (default 0, delivered). */
  statusReportStatus?: number;
  /** 'ready' (default): booted and registered; 'booting': prints its boot URCs after bootMs; 'off'. */
  initialPower?: 'ready' | 'booting' | 'off';
  registration?: RegistrationState;
  /** +CSQ rssi, 0-31 (default 20). */
  signal?: number;
  identity?: Partial<ModemIdentity>;
  operator?: Partial<NetworkOperator>;
  /** Service centre address the SIM carries (default China Mobile's +8613800100500). */
  smsc?: string;
  storage?: Partial<StorageCapacity>;
  /** Network time zone in quarter hours (default 32, UTC+8). */
  timezoneQuarterHours?: number;
  clock?: Clock;
  timers?: ModemTimers;
  /** Random source in [0, 1) for garbage bytes (default Math.random). */
  random?: () => number;
}

export interface VirtualModemEvents {
  /** Bytes the modem sends on its TX line. */
  data: [Buffer];
  transmitted: [TransmittedSms];
  segment: [TransmittedSegment];
  /** A segment's PDU was taken (after Ctrl-Z): the radio is on it, its +CMGS answer comes after sendMs. */
  submitting: [{ to: string }];
  power: ['off' | 'booting' | 'ready'];
}
