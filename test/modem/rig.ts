/** A Modem wired to an in-process VirtualModem through a real SerialPortStream, with small timings. */
import { systemClock } from '../../src/clock.js';
import { createSimulatorBinding } from '../../hardware/simulator/binding.js';
import { VirtualModem, type VirtualModemOptions } from '../../hardware/simulator/virtual-modem.js';
import { loadHat, type HatProfile } from '../../src/modem/hats.js';
import { Modem, type InboundPart, type ModemEvent, type ModemOptions, type StatusReport } from '../../src/modem/modem.js';
import { simulatorPower } from '../../src/modem/power.js';
import { openSerialStream } from '../../src/modem/serial.js';

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
  const virtual = new VirtualModem({ sendMs: 20, bootMs: 80, statusReportDelayMs: 60, ...options.virtual });
  const binding = createSimulatorBinding(virtual);
  const power = simulatorPower(virtual, { offPulseMs: 30, sleep: async () => {} });
  const inbound: InboundPart[] = [];
  const events: ModemEvent[] = [];
  const reports: StatusReport[] = [];
  const modem = new Modem({
    openStream: () => openSerialStream({ path: '/dev/virtual0', baudRate: 115200, binding }),
    hat: testHat(options.hat),
    power,
    clock: systemClock,
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
    virtual,
    modem,
    power,
    inbound,
    events,
    reports,
    async stop(): Promise<void> {
      await modem.stop({ powerDown: false });
      virtual.dispose();
    },
  };
}

/** Polls `check` until it is truthy or the time is up. */
export async function until<T>(check: () => T | undefined | null | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
