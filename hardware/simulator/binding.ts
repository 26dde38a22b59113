/**
 * The UART seam for the virtual HAT: a serialport `BindingInterface` whose port
 * is wired to a VirtualModem, so the box's real driver code talks to it through
 * an ordinary `SerialPortStream`:
 *
 *   new SerialPortStream({ binding: SimulatorBinding, path: 'simulator', baudRate: 115200 })
 *
 * Like a real UART, bytes the modem sends while no port is open are lost, one
 * port may be open per path at a time (unless opened with `lock: false`), and a
 * client at the wrong baud rate sees only noise (the SIM7600 ships at a fixed
 * 115200 baud).
 */
import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
  SetOptions,
  UpdateOptions,
} from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
// (The package's export map names no types for ESM importers; its CommonJS entry has them.)
import { VirtualModem, type VirtualModemOptions } from './virtual-modem.js';

/** The error a pending read or write gets when its port closes, as the binding contract asks. */
export class CanceledError extends Error {
  readonly canceled = true;
  constructor(message: string) {
    super(message);
    this.name = 'CanceledError';
  }
}

export interface SimulatorBindingOptions {
  /** The modem's UART speed; a port opened at another rate garbles both directions (default 115200). */
  modemBaudRate?: number;
  /** Accept any baud rate, as a modem with auto-bauding would. */
  anyBaudRate?: boolean;
}

export interface SimulatorBindingInterface extends BindingInterface<SimulatorPort, OpenOptions, PortInfo> {
  /** The VirtualModem behind a path. */
  modemFor(path: string): VirtualModem;
}

const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

/** What a byte looks like after crossing a link whose two ends disagree on the baud rate. */
function garble(byte: number): number {
  return ((byte * 37) ^ 0xa5) & 0xff;
}

export class SimulatorPort implements BindingPortInterface {
  readonly openOptions: Required<OpenOptions>;
  isOpen = true;
  private received: Buffer[] = [];
  private pendingRead: { wake: () => void; cancel: (error: Error) => void } | null = null;
  private baudRate: number;
  private controlFlags: SetOptions = { dtr: true, rts: true, brk: false };
  private readonly onModemData = (chunk: Buffer): void => {
    this.received.push(this.baudMatches() ? Buffer.from(chunk) : Buffer.from(chunk.map(garble)));
    const pending = this.pendingRead;
    if (pending) {
      this.pendingRead = null;
      process.nextTick(pending.wake);
    }
  };

  constructor(
    readonly modem: VirtualModem,
    openOptions: Required<OpenOptions>,
    private readonly bindingOptions: Required<SimulatorBindingOptions>,
    private readonly onClose: () => void,
  ) {
    this.openOptions = openOptions;
    this.baudRate = openOptions.baudRate;
    modem.on('data', this.onModemData);
  }

  private baudMatches(): boolean {
    return this.bindingOptions.anyBaudRate || this.baudRate === this.bindingOptions.modemBaudRate;
  }

  private assertOpen(): void {
    if (!this.isOpen) throw new Error('Port is not open');
  }

  async close(): Promise<void> {
    this.assertOpen();
    this.isOpen = false;
    this.modem.off('data', this.onModemData);
    this.received = [];
    const pending = this.pendingRead;
    this.pendingRead = null;
    pending?.cancel(new CanceledError('port is closed'));
    this.onClose();
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!Buffer.isBuffer(buffer)) throw new TypeError('"buffer" is not a Buffer');
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0) throw new TypeError('offset and length must be integers');
    if (buffer.length < offset + length) throw new Error('buffer is too small');
    this.assertOpen();
    while (this.received.length === 0) {
      await new Promise<void>((wake, cancel) => {
        this.pendingRead = { wake, cancel };
      });
      if (!this.isOpen) throw new CanceledError('Read canceled');
    }
    let bytesRead = 0;
    while (bytesRead < length && this.received.length > 0) {
      const head = this.received[0]!;
      const take = Math.min(head.length, length - bytesRead);
      head.copy(buffer, offset + bytesRead, 0, take);
      bytesRead += take;
      if (take === head.length) this.received.shift();
      else this.received[0] = head.subarray(take);
    }
    return { buffer, bytesRead };
  }

  async write(buffer: Buffer): Promise<void> {
    if (!Buffer.isBuffer(buffer)) throw new TypeError('"buffer" is not a Buffer');
    this.assertOpen();
    const bytes = this.baudMatches() ? Buffer.from(buffer) : Buffer.from(buffer.map(garble));
    await nextTick();
    if (!this.isOpen) throw new CanceledError('Write canceled');
    this.modem.write(bytes);
  }

  async update(options: UpdateOptions): Promise<void> {
    if (typeof options?.baudRate !== 'number') throw new TypeError('"options.baudRate" is not a number');
    this.assertOpen();
    this.baudRate = options.baudRate;
  }

  async set(options: SetOptions): Promise<void> {
    if (typeof options !== 'object') throw new TypeError('"options" is not an object');
    this.assertOpen();
    // The HAT's UART has no modem-control lines wired; the flags are kept and otherwise ignored.
    this.controlFlags = { ...this.controlFlags, ...options };
  }

  /** The last control flags set (DTR, RTS, BRK), for diagnostics. */
  getControlFlags(): SetOptions {
    return { ...this.controlFlags };
  }

  async get(): Promise<PortStatus> {
    this.assertOpen();
    return { cts: true, dsr: false, dcd: false };
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    this.assertOpen();
    return { baudRate: this.baudRate };
  }

  async flush(): Promise<void> {
    this.assertOpen();
    this.received = [];
  }

  async drain(): Promise<void> {
    this.assertOpen();
    await nextTick();
  }
}

/**
 * A binding whose ports reach the modems `resolve` returns for their paths.
 * Pass a single VirtualModem to have every path reach it.
 */
export function createSimulatorBinding(
  resolve: VirtualModem | ((path: string) => VirtualModem | undefined),
  options: SimulatorBindingOptions = {},
): SimulatorBindingInterface {
  const settings: Required<SimulatorBindingOptions> = {
    modemBaudRate: options.modemBaudRate ?? 115200,
    anyBaudRate: options.anyBaudRate ?? false,
  };
  const lookup = typeof resolve === 'function' ? resolve : () => resolve;
  const locked = new Set<string>();
  const known = new Set<string>();

  const modemFor = (path: string): VirtualModem => {
    const modem = lookup(path);
    if (!modem) throw new Error(`No virtual modem at "${path}"`);
    known.add(path);
    return modem;
  };

  return {
    modemFor,
    async list(): Promise<PortInfo[]> {
      return [...known].map((path) => ({
        path,
        manufacturer: 'smsbox virtual HAT',
        serialNumber: undefined,
        pnpId: undefined,
        locationId: undefined,
        productId: undefined,
        vendorId: undefined,
      }));
    },
    async open(openOptions: OpenOptions): Promise<SimulatorPort> {
      if (!openOptions || typeof openOptions !== 'object') throw new TypeError('"options" is not an object');
      if (!openOptions.path) throw new TypeError('"path" is not a valid port');
      if (!openOptions.baudRate) throw new TypeError('"baudRate" is not a valid baudRate');
      const full: Required<OpenOptions> = {
        dataBits: 8,
        lock: true,
        stopBits: 1,
        parity: 'none',
        rtscts: false,
        xon: false,
        xoff: false,
        xany: false,
        hupcl: true,
        ...openOptions,
      };
      const modem = modemFor(full.path);
      await nextTick();
      if (locked.has(full.path)) throw new Error(`Port is locked cannot open: ${full.path} is already open`);
      if (full.lock) locked.add(full.path);
      return new SimulatorPort(modem, full, settings, () => {
        if (full.lock) locked.delete(full.path);
      });
    },
  };
}

const registry = new Map<string, VirtualModem>();
let registryDefaults: VirtualModemOptions = {};

/**
 * The process-wide simulator binding: each path gets its own VirtualModem,
 * created on first use with the defaults given to `configure`, or registered
 * beforehand with `register` (what `modem.device = "simulator"` uses).
 */
export const SimulatorBinding: SimulatorBindingInterface & {
  list(): Promise<PortInfo[]>;
  register(path: string, modem: VirtualModem): void;
  configure(defaults: VirtualModemOptions): void;
  reset(): void;
} = Object.assign(
  createSimulatorBinding((path) => {
    let modem = registry.get(path);
    if (!modem) {
      modem = new VirtualModem(registryDefaults);
      registry.set(path, modem);
    }
    return modem;
  }),
  {
    async list(): Promise<PortInfo[]> {
      return [...registry.keys()].map((path) => ({
        path,
        manufacturer: 'smsbox virtual HAT',
        serialNumber: undefined,
        pnpId: undefined,
        locationId: undefined,
        productId: undefined,
        vendorId: undefined,
      }));
    },
    register(path: string, modem: VirtualModem): void {
      registry.set(path, modem);
    },
    configure(defaults: VirtualModemOptions): void {
      registryDefaults = { ...defaults };
    },
    /** Forgets every modem (disposing them). Ports already open keep their modem. */
    reset(): void {
      for (const modem of registry.values()) modem.dispose();
      registry.clear();
    },
  },
);
