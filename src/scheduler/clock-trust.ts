import { existsSync, readFileSync } from 'node:fs';
import type { Clock } from '../clock.js';

/**
 * Whether the box may trust its clock for the sending window. A Raspberry Pi
 * has no battery-backed clock: until NTP (systemd-timesyncd) or the modem's
 * network time has set it, "09:00" could be 03:00, so the box holds messages
 * rather than guess. Elsewhere (a PC, this repository's CI) the system clock
 * is kept by a real RTC and trusted.
 */

export type ClockSource = 'ntp' | 'rtc' | 'modem' | 'config' | 'none';

export interface ClockTrustProbe {
  /** systemd-timesyncd creates this file once it has synchronised the clock. */
  ntpSynchronized(): boolean;
  /** Running on a Raspberry Pi (no battery-backed RTC unless one was added). */
  isRaspberryPi(): boolean;
}

export const linuxProbe: ClockTrustProbe = {
  ntpSynchronized: () => existsSync('/run/systemd/timesync/synchronized'),
  isRaspberryPi: () => {
    try {
      return /Raspberry Pi/i.test(readFileSync('/proc/device-tree/model', 'utf8'));
    } catch {
      return false;
    }
  },
};

/** The box's clock: the system clock, corrected by the modem's network time when NTP is unavailable. */
export class BoxClock implements Clock {
  private offsetMs = 0;
  private source: ClockSource;
  private readonly isPi: boolean;

  constructor(
    private readonly mode: 'auto' | 'system',
    private readonly probe: ClockTrustProbe = linuxProbe,
    private readonly system: Clock = { now: () => Date.now() },
  ) {
    this.isPi = probe.isRaspberryPi();
    this.source = mode === 'system' ? 'config' : this.isPi ? 'none' : 'rtc';
  }

  now(): number {
    return this.system.now() + this.offsetMs;
  }

  /** Where the time comes from now; 'none' = not trusted. */
  clockSource(): ClockSource {
    if (this.source === 'none' || this.source === 'modem') {
      // NTP wins over the modem as soon as it has synchronised.
      if (this.probe.ntpSynchronized()) {
        this.offsetMs = 0;
        this.source = 'ntp';
      }
    }
    return this.source;
  }

  trusted(): boolean {
    return this.clockSource() !== 'none';
  }

  /**
   * The modem reported network time (AT+CCLK / NITZ). Used only while the
   * clock is not otherwise trusted; returns true when it was adopted.
   */
  offerNetworkTime(networkNow: number): boolean {
    if (this.clockSource() !== 'none' && this.source !== 'modem') return false;
    this.offsetMs = networkNow - this.system.now();
    this.source = 'modem';
    return true;
  }
}

/**
 * Feeds the modem's network time to a BoxClock that is not trusted yet. A Pi
 * has no clock battery; where the LAN has no NTP either, the module's clock
 * (set by the network at registration) is asked whenever the modem's state
 * changes and then every `intervalMs` until the clock is trusted: not every
 * network sends a time-zone URC. A URC that carries the time is offered too.
 */
export class NetworkTimeFeed {
  private asking = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly deps: {
      clock: BoxClock;
      /** The modem's network time (Modem.networkTime: a query transaction), null when it has none. */
      ask: () => Promise<Date | null>;
      /** Only a registered modem has the network's time. */
      registered: () => boolean;
      /** The clock was set from it (the events log, a dispatcher that held messages). */
      onAdopted: () => void;
      intervalMs?: number;
    },
  ) {}

  /** A time the modem reported by itself (a NITZ URC). */
  offer(date: Date): void {
    if (this.deps.clock.offerNetworkTime(date.getTime())) this.deps.onAdopted();
  }

  /** Asks the modem now, unless the clock is trusted, the modem unregistered or a question is out. */
  async poke(): Promise<void> {
    if (this.stopped || this.asking || this.deps.clock.trusted() || !this.deps.registered()) return;
    this.asking = true;
    try {
      const time = await this.deps.ask();
      if (time && !this.stopped) this.offer(time);
    } finally {
      this.asking = false;
    }
  }

  start(): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.poke(), this.deps.intervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
