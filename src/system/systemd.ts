import { execFile } from 'node:child_process';
import type { Logger } from '../log.js';

/**
 * Tells systemd how the box is doing (smsbox.service is Type=notify with
 * WatchdogSec=): READY=1 once it answers HTTP, STOPPING=1 when it stops, and
 * WATCHDOG=1 from a timer on the event loop, so a loop that hangs stops the
 * pings and systemd restarts the service.
 *
 * Node has no unix datagram sockets, so each message is sent by the
 * `systemd-notify` binary (execFile, no shell). It is a child of the box, not
 * the main process: the unit needs NotifyAccess=all, and systemd-notify's
 * default barrier (it waits until PID 1 has read the message) keeps the
 * message attributed to the unit although the child exits right after.
 */

/** Sends one datagram of `KEY=value` assignments; rejects when it could not. */
export type NotifySender = (assignments: readonly string[], env: NodeJS.ProcessEnv) => Promise<void>;

/** How long one systemd-notify may take: its barrier gives up after 5 s by itself. */
export const NOTIFY_TIMEOUT_MS = 10_000;

/** The real sender: `systemd-notify KEY=value…`, killed if it hangs past `timeoutMs`. */
export function systemdNotifyBinary(binary = 'systemd-notify', timeoutMs = NOTIFY_TIMEOUT_MS): NotifySender {
  return (assignments, env) =>
    new Promise((resolve, reject) => {
      execFile(binary, [...assignments], { env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true }, (error, _stdout, stderr) => {
        if (error) reject(new Error(`${binary} ${assignments.join(' ')}: ${String(stderr).trim().slice(0, 300) || error.message}`));
        else resolve();
      });
    });
}

/**
 * The watchdog ping interval systemd asks for: half of WATCHDOG_USEC, as
 * sd_watchdog_enabled(3) advises; null when no watchdog is set for this
 * process (no NOTIFY_SOCKET, no or a bad WATCHDOG_USEC, or WATCHDOG_PID names
 * another process: a child that inherited the variables must not ping).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  if (!env['NOTIFY_SOCKET']) return null;
  const usecText = env['WATCHDOG_USEC'];
  if (!usecText || !/^\d+$/.test(usecText)) return null;
  const usec = Number(usecText);
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  const watchdogPid = env['WATCHDOG_PID'];
  if (watchdogPid !== undefined && watchdogPid !== '' && Number(watchdogPid) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

export interface SystemdNotifierOptions {
  env?: NodeJS.ProcessEnv;
  pid?: number;
  send?: NotifySender;
  log: Logger;
}

/**
 * At most one systemd-notify runs at a time: what is asked for meanwhile is
 * gathered into the next one (a slow or hung systemd-notify never piles up
 * children). A failure is logged once, and once more when it works again.
 */
export class SystemdNotifier {
  /** Whether there is a NOTIFY_SOCKET to talk to at all (not under a PC's shell or the tests). */
  readonly enabled: boolean;
  /** The ping interval, or null without a watchdog. */
  readonly pingIntervalMs: number | null;
  private readonly env: NodeJS.ProcessEnv;
  private readonly send: NotifySender;
  private readonly log: Logger;
  private inFlight: Promise<void> | null = null;
  private pending: string[] = [];
  private failing = false;
  private timer: NodeJS.Timeout | null = null;
  private sent = 0;

  constructor(options: SystemdNotifierOptions) {
    this.env = options.env ?? process.env;
    this.enabled = Boolean(this.env['NOTIFY_SOCKET']);
    this.pingIntervalMs = watchdogIntervalMs(this.env, options.pid ?? process.pid);
    this.send = options.send ?? systemdNotifyBinary();
    this.log = options.log;
  }

  /** The box answers HTTP: systemd's start is complete. */
  ready(): void {
    this.notify('READY=1');
  }

  /** The box is stopping (SIGTERM): systemd stops expecting pings. */
  stopping(): void {
    this.notify('STOPPING=1');
  }

  /** A free-form line `systemctl status smsbox` shows. */
  status(text: string): void {
    this.notify(`STATUS=${text.replace(/[\r\n]+/g, ' ').slice(0, 200)}`);
  }

  /** Starts the pings (when systemd asked for them). The timer is on the event loop: a blocked loop stops them. */
  startWatchdog(): void {
    if (this.pingIntervalMs === null || this.timer) return;
    this.timer = setInterval(() => this.ping(), this.pingIntervalMs);
    // The pings never keep a stopping process alive.
    this.timer.unref();
    this.ping();
  }

  /** One WATCHDOG=1 (what the timer sends); gathered into the next systemd-notify while one is running. */
  ping(): void {
    this.notify('WATCHDOG=1');
  }

  stopWatchdog(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Resolves when nothing is being sent or waiting to be (tests; a stop that wants STOPPING=1 out). */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  /** Messages sent so far (each systemd-notify run counts once). */
  get sentCount(): number {
    return this.sent;
  }

  private notify(assignment: string): void {
    if (!this.enabled) return;
    if (!this.pending.includes(assignment)) this.pending.push(assignment);
    if (!this.inFlight) this.flush();
  }

  private flush(): void {
    const assignments = this.pending;
    this.pending = [];
    if (assignments.length === 0) return;
    let sending: Promise<void>;
    try {
      sending = this.send(assignments, this.env);
    } catch (err) {
      sending = Promise.reject(err);
    }
    this.inFlight = sending.then(
      () => {
        this.sent += 1;
        if (this.failing) this.log.info('systemd-notify works again');
        this.failing = false;
      },
      (err: unknown) => {
        if (!this.failing) this.log.warn('systemd-notify failed; systemd may restart the box if this goes on (logged once until it works again)', { error: String(err) });
        this.failing = true;
      },
    ).finally(() => {
      this.inFlight = null;
      this.flush();
    });
  }
}
