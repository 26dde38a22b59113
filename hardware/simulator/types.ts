/**
 * The virtual HAT's public vocabulary: faults, what it transmitted, what the
 * network delivers, its options. virtual-modem.ts re-exports all of it, so
 * callers keep importing from there.
 */
import type { Clock, Timers } from '../../src/clock.js';
import type { StorageCapacity } from './sms-storage.js';
import type { ModuleProfileName } from './profiles.js';

export type RegistrationState = 'home' | 'roaming' | 'searching' | 'denied' | 'none';

/**
 * The radio network the SIM is on, as the box must tell them apart (issue 17):
 * - `gsm`, `umts`: 2G / 3G, SMS over the circuit-switched domain;
 * - `lte-sgs`: LTE with a combined attach, SMS over SGs (the CS domain answers too);
 * - `lte-ims`: LTE, EPS-only attach, SMS over IMS (VoLTE registered);
 * - `lte-no-ims`: LTE, EPS-only attach, IMS not registered: data works, SMS does not.
 */
export type NetworkKind = 'gsm' | 'umts' | 'lte-sgs' | 'lte-ims' | 'lte-no-ims';
export const NETWORK_KINDS: readonly NetworkKind[] = ['gsm', 'umts', 'lte-sgs', 'lte-ims', 'lte-no-ims'];

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
  | { kind: 'reboot' }
  /**
   * Registered on LTE with data up, but no SMS path: no SGs and IMS not registered.
   * Sends fail with +CMS ERROR: 500. Turning IMS on with the profile's command and
   * restarting the radio fixes it; clear() is the carrier or the owner fixing it.
   */
  | { kind: 'no-ims' }
  /** The carrier restricts the SIM: every send fails with `+CMS ERROR: <code>` (default 21). */
  | { kind: 'carrier-blocked'; code?: number };

export type FaultKind = ModemFault['kind'];
export const FAULT_KINDS: readonly FaultKind[] = [
  'no-sim',
  'no-network',
  'cms-error',
  'silence',
  'garbage',
  'reboot',
  'no-ims',
  'carrier-blocked',
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

/** A voice call the network offers the modem. */
export interface VirtualCall {
  id: number;
  from: string;
  /** ISO 8601. */
  started_at: string;
  /** ISO 8601; null while the call rings (or is answered and still up). */
  hung_up_at: string | null;
  /** Who ended it: the box (AT+CHUP/ATH), the caller (gave up), the network (modem off or unreachable). */
  hung_up_by: 'modem' | 'caller' | 'network' | null;
  /** RING indications printed so far. */
  rings: number;
  /** ISO 8601 of ATA, when the box answered. */
  answered_at: string | null;
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
  /** Which module it behaves as (default 'sim7600', the default HAT). */
  profile?: ModuleProfileName;
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
  /** The radio network (default 'lte-sgs'; 'gsm' for a 2G-only profile). */
  network?: NetworkKind;
  /** Whether the carrier provisions IMS (VoLTE) for this SIM (default true). */
  imsProvisioned?: boolean;
  /** +CSQ rssi, 0-31 (default 20). */
  signal?: number;
  identity?: Partial<ModemIdentity>;
  /** Shorthand for identity.imsi (default 460001234567890, China Mobile). */
  imsi?: string;
  operator?: Partial<NetworkOperator>;
  /** Service centre address the SIM carries (default China Mobile's +8613800100500). */
  smsc?: string;
  /** The SIM's own number on the network (default +8613912345678): SMS sent to it come back. */
  ownNumber?: string;
  /** Whether the SIM stores its own number, so AT+CNUM answers it (default true). */
  ownNumberKnown?: boolean;
  /** Balance the carrier services report, in yuan (default 23.45). */
  balanceYuan?: number;
  /** Reply text per carrier service number, replacing the default balance reply. */
  carrierReplies?: Record<string, string>;
  /**
   * Carrier service numbers answer SMS (default true). Off for a test that
   * plays the carrier itself (a 'transmitted' listener that delivers replies).
   */
  carrierServices?: boolean;
  /** An SMS to the own number comes back to the SIM (default true); off for a test that plays the network itself. */
  ownNumberLoopback?: boolean;
  /** Submit to the carrier's or the self-test's reply (default 3000 ms). */
  serviceReplyDelayMs?: number;
  /** Between two RING indications of a ringing call (default 5000 ms). */
  ringIntervalMs?: number;
  /** A caller gives up after this long unanswered (default 60000 ms). */
  ringTimeoutMs?: number;
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
  /** A call's state changed: it started ringing, rang again, was answered or ended. */
  call: [VirtualCall];
  /** The network delivered (or queued) an SMS for the modem: a customer's, a carrier's, its own. */
  delivered: [InboundSms];
}
