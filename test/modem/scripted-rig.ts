/**
 * The real Modem driver on a scripted AT peer (test/at/scripted-modem.ts):
 * the test decides every answer, and when it comes. For what the virtual HAT
 * cannot be made to do on cue: hold a +CMGS answer while other work queues
 * up behind it, answer with a given manual's exact text.
 */
import { encodeDeliver } from '../../src/modem/pdu/index.js';
import { Modem, type InboundPart, type ModemEvent, type ModemOptions } from '../../src/modem/modem.js';
import { NoPower } from '../../src/modem/power.js';
import { VirtualTime } from '../helpers/virtual-time.js';
import { openScripted, ScriptedModem } from '../at/scripted-modem.js';
import { testHat } from './rig.js';

export interface ScriptedRigOptions {
  hat?: string;
  modem?: Partial<ModemOptions>;
  /** Answers (information lines) to override or add, by exact command. */
  answers?: Record<string, string[]>;
  /** Hold each +CMGS answer until the test releases it (`releaseSend`). */
  holdSends?: boolean;
}

export async function scriptedRig(options: ScriptedRigOptions = {}) {
  const time = new VirtualTime();
  const peer = new ScriptedModem();
  peer.timers = time;
  const answers: Record<string, string[]> = {
    'AT+CMEE=2': [],
    'AT+CGMM': ['SIMCOM_SIM7600G-H'],
    'AT+CGMR': ['+CGMR: LE20B04SIM7600G22'],
    'AT+CGSN': ['862636050000001'],
    'AT+CPIN?': ['+CPIN: READY'],
    'AT+CICCID': ['+ICCID: 89860012345678901234'],
    'AT+CIMI': ['460001234567890'],
    'AT+CNUM': ['+CNUM: "","+8613912345678",145'],
    'AT+CMGF=0': [],
    'AT+CSCA?': ['+CSCA: "+8613800100500",145'],
    'AT+CREG?': ['+CREG: 0,1'],
    'AT+CGREG?': ['+CGREG: 0,1'],
    'AT+CEREG?': ['+CEREG: 0,1'],
    'AT+CSQ': ['+CSQ: 20,99'],
    'AT+COPS?': ['+COPS: 0,0,"CHINA MOBILE",7'],
    'AT+CMGL=4': [],
    'AT+CMMS=0': [],
    'AT+CMMS=2': [],
    'AT+CMGD=1': [],
    'AT+CMGD=2': [],
    'AT+CHUP': [],
    'ATH': [],
    ...options.answers,
  };
  peer.on(/^AT/i, (m, command) => {
    const upper = command.toUpperCase();
    const lines = Object.entries(answers).find(([cmd]) => cmd.toUpperCase() === upper)?.[1];
    if (lines === undefined) {
      // Settings the profile writes (CNMI, CPMS, CTZU…) are accepted; anything else is unknown.
      if (/^AT\+(CNMI|CPMS|CTZU|CTZR|CLIP|CRC)=/i.test(command) || /^ATE0$/i.test(command) || upper === 'AT') m.send('\r\nOK\r\n');
      else m.send('\r\nERROR\r\n');
      return;
    }
    if (lines.length === 1 && /^\+CM[ES] ERROR/.test(lines[0]!)) {
      m.send(`\r\n${lines[0]}\r\n`);
      return;
    }
    m.send(lines.map((l) => `\r\n${l}`).join('') + '\r\n\r\nOK\r\n');
  });
  peer.on(/^ATE([01])$/i, (m, command) => {
    m.echo = command.endsWith('1');
    m.send('\r\nOK\r\n');
  });
  const held: Array<() => void> = [];
  let messageRef = 0;
  peer.on(/^AT\+CMGS=\d+$/i, (m) => {
    m.prompt(() => {
      const answer = () => m.send(`\r\n+CMGS: ${++messageRef % 256}\r\n\r\nOK\r\n`);
      if (options.holdSends) held.push(answer);
      else m.later(10, answer);
    });
  });
  /** Stored messages by index (AT+CMGR). */
  const stored = new Map<number, string>();
  peer.on(/^AT\+CMGR=(\d+)$/i, (m, command) => {
    const index = Number(/=(\d+)/.exec(command)![1]);
    const pdu = stored.get(index);
    if (!pdu) return m.send('\r\nOK\r\n');
    m.send(`\r\n+CMGR: 0,,${pdu.length / 2 - 1}\r\n${pdu}\r\n\r\nOK\r\n`);
  });
  peer.on(/^AT\+CMGD=(\d+)$/i, (m, command) => {
    stored.delete(Number(/=(\d+)/.exec(command)![1]));
    m.send('\r\nOK\r\n');
  });

  const inbound: InboundPart[] = [];
  const events: ModemEvent[] = [];
  const modem = new Modem({
    openStream: () => openScripted(peer),
    hat: testHat(options.hat),
    power: new NoPower(),
    clock: time,
    timers: time,
    onInbound: async (part) => {
      inbound.push(part);
    },
    pollIntervalMs: 100,
    commandTimeoutMs: 1000,
    sendTimeoutMs: 600_000,
    resyncQuietMs: 30,
    inboxScanEveryPolls: 1000,
    ...options.modem,
  });
  modem.on('event', (event) => events.push(event));

  return {
    time,
    peer,
    modem,
    inbound,
    events,
    answers,
    /** Commands the driver wrote, from `from` on. */
    commandsSince(from: number): string[] {
      return peer.commands.slice(from);
    },
    /** Puts a received SMS into storage slot `index` and announces it (+CMTI). */
    deliver(index: number, from: string, text: string): void {
      stored.set(index, encodeDeliver({ from, text, timestamp: new Date(time.now()) })[0]!);
      peer.send(`\r\n+CMTI: "SM",${index}\r\n`);
    },
    /** Lets the oldest held +CMGS answer go. */
    releaseSend(): void {
      const next = held.shift();
      if (!next) throw new Error('no send is being held');
      next();
    },
    heldSends: () => held.length,
    until<T>(check: () => T | null | undefined | false, what: string): Promise<T> {
      return time.until(check, what);
    },
    run<T>(promise: Promise<T>, what: string): Promise<T> {
      return time.run(promise, what);
    },
    async stop(): Promise<void> {
      while (held.length > 0) held.shift()!();
      await time.run(modem.stop({ powerDown: false }), 'the modem to stop');
    },
  };
}
