/**
 * A Modem wired to an in-process VirtualModem through a real SerialPortStream,
 * both on one VirtualTime: the test moves time (r.until, r.run), never waits for it.
 */
import { createSimulatorBinding } from '../../hardware/simulator/binding.js';
import { VirtualModem, type VirtualModemOptions } from '../../hardware/simulator/virtual-modem.js';
import { loadHat, type HatProfile } from '../../src/modem/hats.js';
import { Modem, type InboundPart, type ModemEvent, type ModemOptions, type StatusReport } from '../../src/modem/modem.js';
import { simulatorPower } from '../../src/modem/power.js';
import { openSerialStream } from '../../src/modem/serial.js';
import { VirtualTime } from '../helpers/virtual-time.js';

export interface RigOptions {
  virtual?: VirtualModemOptions;
  modem?: Partial<ModemOptions>;
  hat?: string;
  /** Decides what the inbox does with each part (default: accept). */
  onInbound?: (part: InboundPart) => Promise<void>;
}

export function testHat(name = 'sim7600'): HatProfile {
  const hat = loadHat(name);
  return { ...hat, power: { ...hat.power, powerOnPulseMs: 5, powerOffPulseMs: 30, bootMs: 3000 } };
}

export function rig(options: RigOptions = {}) {
  const time = new VirtualTime();
  const virtual = new VirtualModem({ sendMs: 20, bootMs: 80, statusReportDelayMs: 60, clock: time, timers: time, ...options.virtual });
  const binding = createSimulatorBinding(virtual);
  const power = simulatorPower(virtual, { offPulseMs: 30, sleep: (ms) => time.sleep(ms) });
  const inbound: InboundPart[] = [];
  const events: ModemEvent[] = [];
  const reports: StatusReport[] = [];
  const modem = new Modem({
    openStream: () => openSerialStream({ path: '/dev/virtual0', baudRate: 115200, binding }),
    hat: testHat(options.hat),
    power,
    clock: time,
    timers: time,
    onInbound: async (part) => {
      if (options.onInbound) await options.onInbound(part);
      inbound.push(part);
    },
    pollIntervalMs: 100,
    commandTimeoutMs: 1000,
    resyncQuietMs: 30,
    inboundRetryMs: 200,
    inboxScanEveryPolls: 2,
    ...options.modem,
  });
  modem.on('event', (event) => events.push(event));
  modem.on('status-report', (report) => reports.push(report));
  return {
    time,
    virtual,
    modem,
    power,
    inbound,
    events,
    reports,
    /** Waits (in virtual time) until `check` holds. */
    until<T>(check: () => T | null | undefined | false, what: string): Promise<T> {
      return time.until(check, what);
    },
    /** Drives the time until `promise` settles. */
    run<T>(promise: Promise<T>, what: string): Promise<T> {
      return time.run(promise, what);
    },
    async stop(): Promise<void> {
      await time.run(modem.stop({ powerDown: false }), 'the modem to stop');
      virtual.dispose();
    },
  };
}
