import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { packageRoot } from '../paths.js';

/**
 * HAT profiles: one TOML file per supported board in `hardware/hats/`, each
 * fact with its source in a comment there. The modem loop and the doctor read
 * everything board-specific from here, never from `if (model === …)`.
 */
export interface HatProfile {
  /** The file stem, as written in `[modem] hat = "…"`. */
  name: string;
  title: string;
  module: string;
  /**
   * Which module's AT behaviour this is (`sim7600`, `ec25`, `sim868`): the UART
   * profile's name for a USB profile of the same module, else the profile's own.
   */
  moduleId: string;
  /** How the box reaches the module: the Pi's UART, or USB (powered by the bus, no PWRKEY). */
  transport: 'uart' | 'usb';
  description: { zh: string; en: string };
  /** The port and its rate. For USB the device is the AT port's ttyUSB name (prefer usb.byId) and the rate is ignored by the driver. */
  uart: { device: string; baud: number };
  /** A USB modem's identity and its AT port; null over UART. */
  usb: {
    /** Hex, as lsusb prints it (`1e0e`). */
    vendorId: string;
    productId: string;
    /** The USB interface number of the AT port (the `ifNN` of its /dev/serial/by-id name). */
    atInterface: number;
    /** The /dev/serial/by-id/ name of the AT port, `*` where the unit's serial or variant goes. */
    byId: string;
  } | null;
  power: {
    /** BCM number of the GPIO that presses PWRKEY; null when the board has no default. */
    pwrkeyGpio: number | null;
    /** True when a high GPIO level presses the key (an NPN transistor on the HAT inverts it). */
    pwrkeyActiveHigh: boolean;
    /** A pulse this long turns a module that is off on (and never turns a running one off, where the module allows). */
    powerOnPulseMs: number;
    /** A pulse this long turns a running module off. */
    powerOffPulseMs: number;
    /** Power-on to "ready for SMS" at most. */
    bootMs: number;
    /** The AT command that shuts the module down cleanly. */
    powerDownCommand: string;
    /** BCM number of the module's STATUS output, where the HAT routes it. */
    statusGpio: number | null;
    /** BCM number of the flight-mode input, where the HAT routes it (keep low). */
    flightModeGpio: number | null;
  };
  at: {
    /** Registration queries to poll: `+CREG`, `+CGREG`, `+CEREG`. */
    registration: string[];
    /** The AT+CNMI parameters, e.g. `2,1,0,1,0`. */
    cnmi: string;
    /** Preferred message storage for reading, writing and receiving (`SM`, `ME`). */
    storage: string;
    /** Whether AT+CMMS (keep the link open between segments) is supported. */
    cmms: boolean;
    statusReports: boolean;
    /** URCs that mean "SMS service ready" after a boot. */
    readyUrcs: string[];
    /** Commands that turn on network time (NITZ) updates; their failure is not fatal. */
    networkTimeCommands: string[];
    /** URCs that carry network time or zone. */
    networkTimeUrcs: string[];
    /** AT+CCLK years before this mean the RTC was never set. */
    cclkValidFromYear: number;
    /** The module's own access-technology query (`AT+CPSI?` SIMCom, `AT+QNWINFO` Quectel); null: AT+COPS? only. */
    ratCommand: string | null;
    /** IMS registration queries, tried in order until one answers (`AT+CIREG?`, `AT+QCFG="ims"`); empty: none. */
    imsQueries: string[];
    /**
     * The commands that switch the module's IMS/VoLTE setting on, where it has
     * one (stored by the module; effective after a radio restart); empty: none.
     */
    imsEnable: string[];
    /** Hangs up an incoming call: `AT+CHUP` or `ATH`. */
    hangUp: string;
  };
}

export class HatProfileError extends Error {
  override name = 'HatProfileError';
}

/** Where the profiles live: `<package>/hardware/hats`, also when running from dist/. */
export function hatsDirectory(): string {
  return join(packageRoot, 'hardware', 'hats');
}

/** The names of every profile shipped, sorted. */
export function listHats(dir: string = hatsDirectory()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.toml'))
    .map((file) => file.slice(0, -'.toml'.length))
    .sort();
}

/** Loads and validates one profile; the error names the file, the key and the known names. */
export function loadHat(name: string, dir: string = hatsDirectory()): HatProfile {
  const known = listHats(dir);
  if (!/^[a-z0-9_-]+$/i.test(name) || !known.includes(name)) {
    throw new HatProfileError(
      `Unknown HAT "${name}". Known HATs: ${known.join(', ') || '(none found in ' + dir + ')'}. ` +
        `未知的 HAT 型号 "${name}"，可选：${known.join('、')}`,
    );
  }
  const file = join(dir, `${name}.toml`);
  let data: Record<string, unknown>;
  try {
    data = parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) throw new HatProfileError(`${file}:${error.line}: ${error.message}`);
    throw error;
  }
  return validateHat(data, file, name);
}

function validateHat(data: Record<string, unknown>, file: string, stem: string): HatProfile {
  const fail = (key: string, what: string): never => {
    throw new HatProfileError(`${file}: ${key} ${what}`);
  };
  const table = (key: string): Record<string, unknown> => {
    const value = data[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`[${key}]`, 'is missing');
    return value as Record<string, unknown>;
  };
  const str = (t: Record<string, unknown>, prefix: string, key: string, pattern?: RegExp): string => {
    const value = t[key];
    if (typeof value !== 'string' || value.trim() === '') return fail(`${prefix}${key}`, 'must be a non-empty string');
    if (pattern && !pattern.test(value)) return fail(`${prefix}${key}`, `"${value}" does not match ${pattern}`);
    return value;
  };
  const int = (t: Record<string, unknown>, prefix: string, key: string, min: number, max: number, optional = false): number | null => {
    const value = t[key];
    if (value === undefined && optional) return null;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return fail(`${prefix}${key}`, `must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
  const bool = (t: Record<string, unknown>, prefix: string, key: string): boolean => {
    const value = t[key];
    if (typeof value !== 'boolean') return fail(`${prefix}${key}`, 'must be true or false');
    return value;
  };
  const strings = (t: Record<string, unknown>, prefix: string, key: string, pattern?: RegExp): string[] => {
    const value = t[key];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || (pattern && !pattern.test(v)))) {
      return fail(`${prefix}${key}`, 'must be a list of strings' + (pattern ? ` matching ${pattern}` : ''));
    }
    return value as string[];
  };

  const name = str(data, '', 'name');
  if (name !== stem) fail('name', `is "${name}" but the file is ${stem}.toml`);
  const transport = data['transport'] === undefined ? 'uart' : str(data, '', 'transport', /^(uart|usb)$/) as 'uart' | 'usb';
  const description = table('description');
  const power = table('power');
  const at = table('at');
  const gpio = (key: string): number | null => int(power, 'power.', key, 0, 27, true);

  let uart: { device: string; baud: number };
  let usb: HatProfile['usb'] = null;
  if (transport === 'usb') {
    if (data['uart'] !== undefined) fail('[uart]', 'is for a UART profile: a USB profile names its AT port in [usb]');
    const t = table('usb');
    uart = { device: str(t, 'usb.', 'device', /^\/dev\//), baud: int(t, 'usb.', 'baud', 1200, 4_000_000)! };
    const atInterface = int(t, 'usb.', 'at_interface', 0, 31)!;
    const byId = str(t, 'usb.', 'by_id', /^\/dev\/serial\/by-id\/usb-\S+-if\d\d-port\d$/);
    if (!byId.endsWith(`-if${String(atInterface).padStart(2, '0')}-port0`)) fail('usb.by_id', `must end in -if${String(atInterface).padStart(2, '0')}-port0 (usb.at_interface)`);
    usb = {
      vendorId: str(t, 'usb.', 'vendor_id', /^[0-9a-f]{4}$/),
      productId: str(t, 'usb.', 'product_id', /^[0-9a-f]{4}$/),
      atInterface,
      byId,
    };
    // The bus powers a USB module: a pin here would promise a power control the box does not have.
    for (const key of ['pwrkey_gpio', 'status_gpio', 'flight_mode_gpio', 'pwrkey_active_high', 'power_on_pulse_ms', 'power_off_pulse_ms']) {
      if (power[key] !== undefined) fail(`power.${key}`, 'has no meaning for a USB modem (the bus powers it; the box cannot press its PWRKEY)');
    }
  } else {
    const t = table('uart');
    uart = { device: str(t, 'uart.', 'device', /^\//), baud: int(t, 'uart.', 'baud', 1200, 4_000_000)! };
  }
  const usbPower = transport === 'usb';

  const profile: HatProfile = {
    name,
    title: str(data, '', 'title'),
    module: str(data, '', 'module'),
    moduleId: data['module_id'] === undefined ? name : str(data, '', 'module_id', /^[a-z0-9_-]+$/i),
    transport,
    description: { zh: str(description, 'description.', 'zh'), en: str(description, 'description.', 'en') },
    uart,
    usb,
    power: {
      pwrkeyGpio: usbPower ? null : gpio('pwrkey_gpio'),
      // Never pressed over USB (no pin); kept so the type stays one shape.
      pwrkeyActiveHigh: usbPower ? true : bool(power, 'power.', 'pwrkey_active_high'),
      powerOnPulseMs: usbPower ? 0 : int(power, 'power.', 'power_on_pulse_ms', 50, 10_000)!,
      powerOffPulseMs: usbPower ? 0 : int(power, 'power.', 'power_off_pulse_ms', 50, 30_000)!,
      bootMs: int(power, 'power.', 'boot_ms', 100, 120_000)!,
      powerDownCommand: str(power, 'power.', 'power_down_command', /^AT[+A-Z0-9=,]+$/i),
      statusGpio: usbPower ? null : gpio('status_gpio'),
      flightModeGpio: usbPower ? null : gpio('flight_mode_gpio'),
    },
    at: {
      registration: strings(at, 'at.', 'registration', /^\+C(E|G)?REG$/),
      cnmi: str(at, 'at.', 'cnmi', /^\d(,\d){1,4}$/),
      storage: str(at, 'at.', 'storage', /^(SM|ME|MT|SR)$/),
      cmms: bool(at, 'at.', 'cmms'),
      statusReports: bool(at, 'at.', 'status_reports'),
      readyUrcs: strings(at, 'at.', 'ready_urcs'),
      networkTimeCommands: strings(at, 'at.', 'network_time_commands', /^AT/i),
      networkTimeUrcs: strings(at, 'at.', 'network_time_urcs'),
      cclkValidFromYear: int(at, 'at.', 'cclk_valid_from_year', 2000, 2100)!,
      ratCommand: at['rat_command'] === undefined ? null : str(at, 'at.', 'rat_command', /^AT\S+$/i),
      imsQueries: at['ims_queries'] === undefined ? [] : strings(at, 'at.', 'ims_queries', /^AT\S+$/i),
      imsEnable: at['ims_enable'] === undefined ? [] : strings(at, 'at.', 'ims_enable', /^AT\S+$/i),
      hangUp: at['hang_up'] === undefined ? 'AT+CHUP' : str(at, 'at.', 'hang_up', /^(AT\+CHUP|ATH0?)$/i),
    },
  };
  if (profile.at.registration.length === 0) fail('at.registration', 'must name at least one command');
  const mt = Number(profile.at.cnmi.split(',')[1] ?? '0');
  if (mt === 2 || mt === 3) {
    // +CMT hands a message over without storing it: a crash before the inbox commit would lose it.
    fail('at.cnmi', 'must store new messages (<mt> 0 or 1), not route them with +CMT');
  }
  return profile;
}

/** Whether the box can press this module's PWRKEY at all (a USB module is powered by the bus). */
export function hatHasPowerControl(hat: Pick<HatProfile, 'transport'>): boolean {
  return hat.transport !== 'usb';
}

/** The modules the virtual HAT can play (hardware/simulator/profiles.ts MODULE_PROFILES). */
const SIMULATED_MODULES = ['sim7600', 'ec25', 'sim868'] as const;
export type SimulatedModule = (typeof SIMULATED_MODULES)[number];

/**
 * The module the virtual HAT plays for this profile: a USB profile plays its
 * UART twin (`sim7600-usb` → `sim7600`), so the simulator answers as the
 * driver expects. Null when the simulator has no such module.
 */
export function simulatorModuleFor(hat: Pick<HatProfile, 'moduleId'>): SimulatedModule | null {
  return (SIMULATED_MODULES as readonly string[]).includes(hat.moduleId) ? (hat.moduleId as SimulatedModule) : null;
}

const transports = new Map<string, HatProfile['transport'] | null>();

/**
 * How the named profile reaches its module, read once per name (the status
 * page asks on every render); null for a name no profile has. Names come from
 * the config, never from a client.
 */
export function hatTransport(name: string): HatProfile['transport'] | null {
  let transport = transports.get(name);
  if (transport === undefined) {
    try {
      transport = loadHat(name).transport;
    } catch {
      transport = null;
    }
    transports.set(name, transport);
  }
  return transport;
}
