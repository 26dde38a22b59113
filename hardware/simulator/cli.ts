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
import { VirtualModem, type ModemFault, type FaultKind, type RegistrationState } from './virtual-modem.js';

export const SIMULATE_MODEM_USAGE = `Usage: smsbox simulate-modem --link PATH [options]

Runs the virtual SIM7600 HAT on a pseudo-terminal reachable at PATH.

Options:
  --link PATH            where to create the tty (a symlink to /dev/pts/N)
  --send-ms N            time per transmitted segment (default 1500)
  --boot-ms N            time from power-on or reboot to RDY (default 3000)
  --status-report-ms N   time from a send to its status report (default 2000)
  --no-stdin             do not read commands from stdin (and do not exit when it ends)
  -h, --help             this text

stdout: one JSON line {"to","text","segments"} per SMS transmitted.
stderr: diagnostics; "simulate-modem: done: LINE" once a stdin line is applied;
        "simulate-modem: sending a segment to NUMBER" when the radio takes a PDU.
stdin (JSON lines):
  {"deliver": {"from": "+8613900000000", "text": "T"}}   a customer's SMS arrives
  {"fault": {"kind": "no-sim" | "no-network" | "silence" | "garbage" | "reboot"}}
  {"fault": {"kind": "cms-error", "code": 500, "count": 1}}
  {"clear": true} or {"clear": "no-network"}             clear all faults or one kind
  {"signal": 12}                                         +CSQ rssi 0-31 or 99
  {"registration": "home" | "roaming" | "searching" | "denied" | "none"}
  {"power": "on" | "off" | "cycle"}
Requires socat (Debian: apt-get install socat).`;

interface CliOptions {
  link: string;
  sendMs: number;
  bootMs: number;
  statusReportMs: number;
  readStdin: boolean;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): CliOptions | 'help' {
  let link: string | undefined;
  const numbers = { sendMs: 1500, bootMs: 3000, statusReportMs: 2000 };
  let readStdin = true;
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
    else if (flags[flag]) {
      const v = value();
      if (!/^\d+$/.test(v)) throw new UsageError(`${flag} must be a whole number of milliseconds, got "${v}"`);
      numbers[flags[flag]!] = Number(v);
    } else throw new UsageError(`unknown option ${arg}`);
  }
  if (!link) throw new UsageError('--link PATH is required');
  return { link, ...numbers, readStdin };
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

/** Applies one JSON command from stdin. Returns an error text for stderr, or null. */
export function applyControlLine(modem: VirtualModem, line: string): string | null {
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
      const kinds: FaultKind[] = ['no-sim', 'no-network', 'cms-error', 'silence', 'garbage', 'reboot'];
      if (typeof fault?.kind !== 'string' || !kinds.includes(fault.kind as FaultKind)) return `fault.kind must be one of ${kinds.join(', ')}`;
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
            process.stderr.write(`simulate-modem: ${link} -> ${pty} (virtual SIM7600, ${options.sendMs} ms per segment)\n`);
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

    if (options.readStdin) {
      reader = createInterface({ input: process.stdin, crlfDelay: Infinity });
      reader.on('line', (line) => {
        const problem = applyControlLine(modem, line);
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
