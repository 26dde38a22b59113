import { execFile } from 'node:child_process';
import { hostname, networkInterfaces } from 'node:os';
import type { Logger } from '../log.js';

/**
 * The name the box is found by on the LAN: the one avahi actually announced.
 * On a name conflict (a second box with the same host name) avahi announces
 * another (`smsbox-ab12-2.local`) without changing the system's host name, so
 * os.hostname() alone would show the shop the other box's name. Asked over
 * D-Bus (busctl, in systemd; avahi's D-Bus policy lets any user read it),
 * refreshed in the background; where avahi is absent (a PC), the host name
 * plus `.local`.
 */

/** How often the announced name is asked again (avahi renames on a conflict at any time). */
export const HOST_NAME_REFRESH_MS = 60_000;
/** One busctl call may take this long. */
const LOOKUP_TIMEOUT_MS = 3_000;

export interface HostInfo {
  /** The `.local` name avahi announced, else the host name plus `.local`. */
  name: string;
  /** Where it comes from: avahi (announced) or the system's host name (avahi absent or not answering). */
  source: 'avahi' | 'hostname';
  /** The URLs a shop pastes into 管家助理: each LAN IPv4 address (works without mDNS), then the name. */
  urls: string[];
}

/** A DNS name of letters, digits and hyphens ending in `.local`; anything else is not used. */
const LOCAL_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+local$/i;

/** The name in busctl's answer to GetHostNameFqdn: `--json=short` (`{"type":"s","data":["x.local"]}`) or plain (`s "x.local"`). */
export function parseAvahiFqdn(output: string): string | null {
  const text = output.trim();
  let name: unknown = null;
  if (text.startsWith('{')) {
    try {
      const data = (JSON.parse(text) as { data?: unknown }).data;
      name = Array.isArray(data) ? data[0] : null;
    } catch {
      return null;
    }
  } else {
    name = /^s "([^"]*)"$/.exec(text)?.[1] ?? null;
  }
  if (typeof name !== 'string') return null;
  const trimmed = name.replace(/\.$/, '');
  return LOCAL_NAME.test(trimmed) ? trimmed.toLowerCase() : null;
}

/** The system's host name as a `.local` name (what avahi announces when there is no conflict). */
export function fallbackName(host = hostname()): string {
  const label = (host.split('.')[0] ?? '').toLowerCase();
  return LOCAL_NAME.test(`${label}.local`) ? `${label}.local` : 'smsbox.local';
}

/** Every non-internal IPv4 address, in the order the system lists them. */
export function lanIpv4s(interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): string[] {
  const found: string[] = [];
  for (const addresses of Object.values(interfaces)) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal && !found.includes(a.address)) found.push(a.address);
    }
  }
  return found;
}

/** The 管家助理 URLs (the WDGJ interface answers on /sms): each address, then the name; no port when it is 80. */
export function hostUrls(name: string, port: number, ipv4s: readonly string[]): string[] {
  const portPart = port === 80 ? '' : `:${port}`;
  return [...ipv4s.map((ip) => `http://${ip}${portPart}/sms`), `http://${name}${portPart}/sms`];
}

export type NameLookup = () => Promise<string>;

/** Asks avahi-daemon over the system bus (busctl, no shell), bounded in time. */
export function avahiBusctlLookup(binary = 'busctl', timeoutMs = LOOKUP_TIMEOUT_MS): NameLookup {
  return () =>
    new Promise((resolve, reject) => {
      execFile(
        binary,
        ['--system', '--json=short', '--timeout=2', 'call', 'org.freedesktop.Avahi', '/', 'org.freedesktop.Avahi.Server', 'GetHostNameFqdn'],
        { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024, encoding: 'utf8', windowsHide: true },
        (error, stdout, stderr) => {
          if (error) reject(new Error(String(stderr).trim().slice(0, 200) || error.message));
          else resolve(stdout);
        },
      );
    });
}

/**
 * The announced name, kept current in the background: readers get the last
 * answer at once and never wait for avahi. One lookup at a time.
 */
export class HostNameWatcher {
  private announced: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly options: {
      lookup?: NameLookup | null;
      log: Logger;
      /** The system's host name (tests). */
      hostname?: () => string;
      interfaces?: () => ReturnType<typeof networkInterfaces>;
      intervalMs?: number;
    },
  ) {}

  /** The name now: avahi's last answer, else the host name's `.local`. */
  name(): { name: string; source: HostInfo['source'] } {
    if (this.announced) return { name: this.announced, source: 'avahi' };
    return { name: fallbackName((this.options.hostname ?? hostname)()), source: 'hostname' };
  }

  /** `/api/status` `host` for the port the box listens on. */
  info(port: number): HostInfo {
    const { name, source } = this.name();
    return { name, source, urls: hostUrls(name, port, lanIpv4s((this.options.interfaces ?? networkInterfaces)())) };
  }

  /** Asks now (a lookup under way is joined, not repeated); never rejects. */
  refresh(): Promise<void> {
    const lookup = this.options.lookup === undefined ? avahiBusctlLookup() : this.options.lookup;
    if (!lookup) return Promise.resolve();
    this.running ??= (async () => {
      try {
        const name = parseAvahiFqdn(await lookup());
        if (!name) throw new Error('no .local name in the answer');
        if (name !== this.announced) this.options.log.info('mDNS name', { name });
        this.announced = name;
        this.failing = false;
      } catch (err) {
        // avahi not installed or not running (a PC), or stopped: the host name stands in.
        if (!this.failing) this.options.log.info('avahi does not say its name; using the host name', { name: fallbackName((this.options.hostname ?? hostname)()), error: String(err).slice(0, 200) });
        this.failing = true;
        this.announced = null;
      }
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** The first lookup now, then every minute. */
  start(): Promise<void> {
    if (!this.timer) {
      this.timer = setInterval(() => void this.refresh(), this.options.intervalMs ?? HOST_NAME_REFRESH_MS);
      this.timer.unref();
    }
    return this.refresh();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
