/**
 * `smsbox simulate-modem --link PATH`: the virtual HAT on a pseudo-terminal, so
 * any AT client (gammu, minicom, picocom, or the box itself with
 * `modem.device = PATH`) can open it like a real serial port.
 *
 * Node cannot allocate a pty, so Debian's `socat` does: it owns the pty master,
 * makes PATH a symlink to the slave, and relays the master to its stdio, which
 * is piped to the VirtualModem here. The pty is created `rawer,echo=0` so that
 * the line discipline neither echoes nor edits; the client then sets its own
 * termios (baud, raw mode), which a pty accepts and ignores. `wait-slave` is
 * deliberately not used: without it socat keeps the master across the client
 * closing and reopening the tty, so clients can reconnect any number of times
 * (bytes the modem sends while no client has the tty open are dropped, as on
 * a real UART nobody is listening to).
 *
 * stdout carries one JSON line per SMS the modem transmits and nothing else;
 * stdin takes JSON lines that drive the network and faults; diagnostics go to
 * stderr.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { lstatSync, unlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  FAULT_KINDS,
  MODULE_PROFILES,
  NETWORK_KINDS,
  VirtualModem,
  type FaultKind,
  type ModemFault,
  type ModuleProfileName,
  type NetworkKind,
  type RegistrationState,
} from './virtual-modem.js';

export const SIMULATE_MODEM_USAGE = `Usage: smsbox simulate-modem --link PATH [options]

Runs the virtual HAT (a SIM7600 unless --profile says otherwise) on a
pseudo-terminal reachable at PATH.

Options:
  --link PATH            where to create the tty (a symlink to /dev/pts/N)
  --send-ms N            time per transmitted segment (default 1500)
  --boot-ms N            time from power-on or reboot to RDY (default 3000)
  --status-report-ms N   time from a send to its status report (default 2000)
  --profile NAME         the module: sim7600 (default), ec25, sim868
  --network KIND         gsm, umts, lte-sgs (default; gsm on a sim868), lte-ims, lte-no-ims
  --own-number N         the SIM's own number (default +8613912345678)
  --no-own-number        the SIM does not store its number: AT+CNUM answers only OK
  --imsi N               the SIM's IMSI (default 460001234567890, China Mobile)
  --no-stdin             do not read commands from stdin (and do not exit when it ends)
  -h, --help             this text

stdout: one JSON line {"to","text","segments"} per SMS transmitted.
stderr: diagnostics; "simulate-modem: done: LINE" once a stdin line is applied;
        "simulate-modem: sending a segment to NUMBER" when the radio takes a PDU;
        "simulate-modem: call {…}" when a call starts ringing and when it ends;
        "simulate-modem: calls [{…}]" in answer to {"calls": true}.
stdin (JSON lines):
  {"deliver": {"from": "+8613900000000", "text": "T"}}   a customer's SMS arrives
  {"fault": {"kind": "no-sim" | "no-network" | "silence" | "garbage" | "reboot" | "no-ims"}}
  {"fault": {"kind": "cms-error", "code": 500, "count": 1}}
  {"fault": {"kind": "carrier-blocked", "code": 21}}
  {"clear": true} or {"clear": "no-network"}             clear all faults or one kind
  {"signal": 12}                                         +CSQ rssi 0-31 or 99
  {"registration": "home" | "roaming" | "searching" | "denied" | "none"}
  {"network": "lte-no-ims"}                              the network (as --network)
  {"own_number": "+8613912345678", "known": false}       the SIM's number, stored on it or not
  {"imsi": "460110123456789"}                            another SIM (carrier)
  {"balance_yuan": 3.5}                                  what the carrier's balance reply says
  {"carrier_reply": {"number": "10086", "text": "…"}}    a service number's reply (text null: default)
  {"carrier_notice": {"from": "10086", "text": "…"}}     a restriction notice (both optional)
  {"call": {"from": "+8613800138000"}}                   a call rings until AT+CHUP/ATH
  {"call": "end"}                                        the caller hangs up
  {"calls": true}                                        list the calls on stderr
  {"power": "on" | "off" | "cycle"}
Requires socat (Debian: apt-get install socat).`;

interface CliOptions {
  link: string;
  sendMs: number;
  bootMs: number;
  statusReportMs: number;
  readStdin: boolean;
  profile: ModuleProfileName;
  network?: NetworkKind;
  ownNumber?: string;
  ownNumberKnown: boolean;
  imsi?: string;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): CliOptions | 'help' {
  let link: string | undefined;
  const numbers = { sendMs: 1500, bootMs: 3000, statusReportMs: 2000 };
  let readStdin = true;
  let profile: ModuleProfileName = 'sim7600';
  let network: NetworkKind | undefined;
  let ownNumber: string | undefined;
  let ownNumberKnown = true;
  let imsi: string | undefined;
  const flags: Record<string, keyof typeof numbers> = {
    '--send-ms': 'sendMs',
    '--boot-ms': 'bootMs',
    '--status-report-ms': 'statusReportMs',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inlineValue] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inlineValue ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (flag === '-h' || flag === '--help') return 'help';
    if (flag === '--link') link = value();
    else if (flag === '--no-stdin') readStdin = false;
    else if (flag === '--profile') {
      const v = value();
      if (!(MODULE_PROFILES as readonly string[]).includes(v)) throw new UsageError(`--profile must be one of ${MODULE_PROFILES.join(', ')}, got "${v}"`);
      profile = v as ModuleProfileName;
    } else if (flag === '--network') {
      const v = value();
      if (!(NETWORK_KINDS as readonly string[]).includes(v)) throw new UsageError(`--network must be one of ${NETWORK_KINDS.join(', ')}, got "${v}"`);
      network = v as NetworkKind;
    } else if (flag === '--own-number') {
      const v = value();
      if (!/^\+?\d{3,20}$/.test(v)) throw new UsageError(`--own-number must be a phone number, got "${v}"`);
      ownNumber = v;
    } else if (flag === '--no-own-number') ownNumberKnown = false;
    else if (flag === '--imsi') {
      const v = value();
      if (!/^\d{6,15}$/.test(v)) throw new UsageError(`--imsi must be 6 to 15 digits, got "${v}"`);
      imsi = v;
    }
    else if (flags[flag]) {
      const v = value();
      if (!/^\d+$/.test(v)) throw new UsageError(`${flag} must be a whole number of milliseconds, got "${v}"`);
      numbers[flags[flag]!] = Number(v);
    } else throw new UsageError(`unknown option ${arg}`);
  }
  if (!link) throw new UsageError('--link PATH is required');
  if (profile === 'sim868' && network !== undefined && network !== 'gsm') throw new UsageError('a sim868 is 2G only: --network can only be gsm');
  return {
    link,
    ...numbers,
    readStdin,
    profile,
    ownNumberKnown,
    ...(network ? { network } : {}),
    ...(ownNumber ? { ownNumber } : {}),
    ...(imsi ? { imsi } : {}),
  };
}

function socatAvailable(): boolean {
  const probe = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  return !probe.error;
}

/** Removes PATH when it is a symlink (ours, or left by a killed run); refuses to touch anything else. */
function removeStaleLink(path: string): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSymbolicLink()) throw new UsageError(`${path} exists and is not a symlink; choose another --link path`);
  unlinkSync(path);
}

/** The fields of a call as the HTTP API shows them. */
function callLine(call: { from: string; started_at: string; hung_up_at: string | null; hung_up_by: string | null; rings: number }): string {
  return JSON.stringify({ from: call.from, started_at: call.started_at, hung_up_at: call.hung_up_at, hung_up_by: call.hung_up_by, rings: call.rings });
}

/**
 * Applies one JSON command from stdin. Returns an error text for stderr, or
 * null. `say` prints a line on stderr for commands that answer (calls).
 */
export function applyControlLine(modem: VirtualModem, line: string, say: (text: string) => void = () => {}): string | null {
  if (line.trim() === '') return null;
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch {
    return `not JSON: ${line}`;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return `expected a JSON object: ${line}`;
  const command = message as Record<string, unknown>;
  try {
    if ('deliver' in command) {
      const sms = command.deliver as { from?: unknown; text?: unknown };
      if (typeof sms?.from !== 'string' || typeof sms.text !== 'string') return 'deliver needs {"from": string, "text": string}';
      modem.deliver({ from: sms.from, text: sms.text });
    } else if ('fault' in command) {
      const fault = command.fault as { kind?: unknown };
      if (typeof fault?.kind !== 'string' || !FAULT_KINDS.includes(fault.kind as FaultKind)) return `fault.kind must be one of ${FAULT_KINDS.join(', ')}`;
      modem.inject(fault as ModemFault);
    } else if ('clear' in command) {
      if (command.clear === true) modem.clear();
      else if (typeof command.clear === 'string') modem.clear(command.clear as FaultKind);
      else return 'clear must be true or a fault kind';
    } else if ('signal' in command) {
      if (typeof command.signal !== 'number') return 'signal must be a number';
      modem.setSignal(command.signal);
    } else if ('registration' in command) {
      const states: RegistrationState[] = ['home', 'roaming', 'searching', 'denied', 'none'];
      if (!states.includes(command.registration as RegistrationState)) return `registration must be one of ${states.join(', ')}`;
      modem.setRegistration(command.registration as RegistrationState);
    } else if ('network' in command) {
      if (!NETWORK_KINDS.includes(command.network as NetworkKind)) return `network must be one of ${NETWORK_KINDS.join(', ')}`;
      modem.setNetwork(command.network as NetworkKind);
    } else if ('own_number' in command) {
      if (typeof command.own_number !== 'string' || !/^\+?\d{3,20}$/.test(command.own_number)) return 'own_number must be a phone number';
      if (command.known !== undefined && typeof command.known !== 'boolean') return 'known must be true or false';
      modem.setOwnNumber(command.own_number, command.known !== false);
    } else if ('imsi' in command) {
      if (typeof command.imsi !== 'string') return 'imsi must be a string of digits';
      modem.setImsi(command.imsi);
    } else if ('balance_yuan' in command) {
      if (typeof command.balance_yuan !== 'number') return 'balance_yuan must be a number';
      modem.setBalance(command.balance_yuan);
    } else if ('carrier_reply' in command) {
      const reply = command.carrier_reply as { number?: unknown; text?: unknown };
      if (typeof reply?.number !== 'string' || !(reply.text === null || typeof reply.text === 'string')) return 'carrier_reply needs {"number": string, "text": string or null}';
      modem.setCarrierReply(reply.number, reply.text);
    } else if ('carrier_notice' in command) {
      const notice = (command.carrier_notice ?? {}) as { from?: unknown; text?: unknown };
      if ((notice.from !== undefined && typeof notice.from !== 'string') || (notice.text !== undefined && typeof notice.text !== 'string')) {
        return 'carrier_notice takes {"from": string, "text": string}, both optional';
      }
      modem.sendCarrierNotice({ ...(notice.from !== undefined ? { from: notice.from as string } : {}), ...(notice.text !== undefined ? { text: notice.text as string } : {}) });
    } else if ('call' in command) {
      if (command.call === 'end') {
        if (modem.callerHangsUp() === null) return 'no call to end';
      } else {
        const call = command.call as { from?: unknown };
        if (typeof call?.from !== 'string') return 'call needs {"from": "+8613800138000"} or "end"';
        modem.call({ from: call.from });
      }
    } else if ('calls' in command) {
      say(`calls ${JSON.stringify(modem.calls.map((c) => JSON.parse(callLine(c)) as unknown))}`);
    } else if ('power' in command) {
      if (command.power === 'on') modem.powerOn();
      else if (command.power === 'off') modem.powerOff();
      else if (command.power === 'cycle') {
        modem.powerOff();
        modem.powerOn();
      } else return 'power must be "on", "off" or "cycle"';
    } else {
      return `unknown command: ${line}`;
    }
  } catch (error) {
    return `${line}: ${(error as Error).message}`;
  }
  return null;
}

export async function simulateModemCommand(argv: string[]): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`simulate-modem: ${error.message}\n\n${SIMULATE_MODEM_USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${SIMULATE_MODEM_USAGE}\n`);
    return 0;
  }
  if (!socatAvailable()) {
    process.stderr.write('simulate-modem: socat is not installed; it creates the pseudo-terminal. Install it with: apt-get install socat\n');
    return 1;
  }
  try {
    removeStaleLink(options.link);
  } catch (error) {
    process.stderr.write(`simulate-modem: ${(error as Error).message}\n`);
    return 1;
  }
  const { link } = options;
  const modem = new VirtualModem({
    sendMs: options.sendMs,
    bootMs: options.bootMs,
    statusReportDelayMs: options.statusReportMs,
    initialPower: 'ready',
    profile: options.profile,
    ownNumberKnown: options.ownNumberKnown,
    ...(options.network ? { network: options.network } : {}),
    ...(options.ownNumber ? { ownNumber: options.ownNumber } : {}),
    ...(options.imsi ? { imsi: options.imsi } : {}),
  });

  const socat: ChildProcess = spawn('socat', ['-d', '-d', `PTY,link=${link},rawer,echo=0`, 'STDIO'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });

  return await new Promise<number>((resolve) => {
    let finished = false;
    let exitCode = 0;
    let reader: ReturnType<typeof createInterface> | null = null;

    const finish = (code: number): void => {
      if (finished) return;
      finished = true;
      exitCode = code;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      reader?.close();
      modem.dispose();
      if (socat.exitCode === null && socat.signalCode === null) socat.kill('SIGTERM');
      else done();
    };
    const done = (): void => {
      try {
        removeStaleLink(link);
      } catch {
        // Not ours any more; leave it.
      }
      resolve(exitCode);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      process.stderr.write(`simulate-modem: ${signal}, stopping\n`);
      finish(0);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    socat.on('error', (error) => {
      process.stderr.write(`simulate-modem: cannot run socat: ${error.message}\n`);
      finish(1);
      done();
    });
    socat.on('exit', (code, signal) => {
      if (!finished) {
        process.stderr.write(`simulate-modem: socat stopped unexpectedly (${signal ?? `exit ${code}`})\n`);
        finished = true;
        exitCode = 1;
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        reader?.close();
        modem.dispose();
      }
      done();
    });
    socat.stdin!.on('error', () => {
      // socat went away; its exit handler reports it.
    });

    let announced = false;
    socat.stderr!.setEncoding('utf8');
    socat.stderr!.on('data', (text: string) => {
      if (!announced && /PTY is (\S+)/.test(text)) {
        announced = true;
        const pty = /PTY is (\S+)/.exec(text)![1];
        // socat reports the PTY before it creates the link: announce only once the link is there,
        // so a client started on the announcement finds it.
        const announce = (triesLeft: number): void => {
          let present = false;
          try {
            lstatSync(link);
            present = true;
          } catch {
            // not yet
          }
          if (present || triesLeft === 0) {
            process.stderr.write(`simulate-modem: ${link} -> ${pty} (virtual ${options.profile}, ${modem.getNetwork()}, ${options.sendMs} ms per segment)\n`);
          } else {
            setTimeout(() => announce(triesLeft - 1), 10);
          }
        };
        announce(500);
      }
      // Routine notices would drown the log; warnings and errors are worth passing on.
      for (const line of text.split('\n')) {
        if (/ [EWF] /.test(line)) process.stderr.write(`simulate-modem: socat: ${line}\n`);
      }
    });

    modem.on('data', (chunk) => {
      if (socat.stdin!.writable) socat.stdin!.write(chunk);
    });
    socat.stdout!.on('data', (chunk: Buffer) => modem.write(chunk));
    // So a driver can act while a segment is on the air (between Ctrl-Z and +CMGS).
    modem.on('submitting', ({ to }) => process.stderr.write(`simulate-modem: sending a segment to ${to}\n`));
    modem.on('transmitted', (sms) => {
      process.stdout.write(`${JSON.stringify({ to: sms.to, text: sms.text, segments: sms.segments })}\n`);
    });
    // A call starting to ring and a call ending, so a driver can wait for the box to hang up.
    modem.on('call', (call) => {
      if ((call.rings <= 1 && call.hung_up_at === null && call.answered_at === null) || call.hung_up_at !== null) {
        process.stderr.write(`simulate-modem: call ${callLine(call)}\n`);
      }
    });

    if (options.readStdin) {
      reader = createInterface({ input: process.stdin, crlfDelay: Infinity });
      reader.on('line', (line) => {
        const problem = applyControlLine(modem, line, (text) => process.stderr.write(`simulate-modem: ${text}\n`));
        if (problem) process.stderr.write(`simulate-modem: ${problem}\n`);
        // Said once it has taken effect, so a driver (a test, a person) knows the fault is on before it goes on.
        else if (line.trim() !== '') process.stderr.write(`simulate-modem: done: ${line.trim()}\n`);
      });
      process.stdin.on('end', () => {
        process.stderr.write('simulate-modem: stdin closed, stopping\n');
        finish(0);
      });
    }
  });
}
