/**
 * `smsbox pdu encode|decode`: a technician's view of what the box sends and receives.
 * The main CLI passes the arguments that follow `pdu`; a leading "pdu" is tolerated.
 */
import { decodePdu, type DecodedPdu } from './decode.js';
import { encodeSubmit } from './encode.js';
import { PduError } from './errors.js';

export const PDU_USAGE = [
  'usage:',
  '  smsbox pdu encode --to NUMBER --text TEXT [--status-report] [--concat-ref N] [--validity-minutes N]',
  '      prints one SMS-SUBMIT PDU per segment, as written after AT+CMGS=<length> (leading SMSC octet 00)',
  '  smsbox pdu decode HEX',
  '      prints the PDU (with its SMSC prefix, as in +CMT/+CDS/AT+CMGL) as one JSON line',
].join('\n');

const EXIT_OK = 0;
const EXIT_BAD_PDU = 1;
const EXIT_USAGE = 2;

function usage(out: (line: string) => void, problem: string): number {
  out(`error: ${problem}`);
  for (const line of PDU_USAGE.split('\n')) out(line);
  return EXIT_USAGE;
}

function parseInteger(value: string): number | null {
  return /^\d+$/.test(value) ? Number(value) : null;
}

function encodeCommand(args: string[], out: (line: string) => void): number {
  let to: string | undefined;
  let text: string | undefined;
  let statusReport = false;
  let concatRef: number | undefined;
  let validityMinutes: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const takeValue = (): string | null => (i + 1 < args.length ? args[++i]! : null);
    switch (arg) {
      case '--to': {
        const value = takeValue();
        if (value === null) return usage(out, '--to needs a number');
        to = value;
        break;
      }
      case '--text': {
        const value = takeValue();
        if (value === null) return usage(out, '--text needs a text');
        text = value;
        break;
      }
      case '--status-report':
        statusReport = true;
        break;
      case '--concat-ref': {
        const value = parseInteger(takeValue() ?? '');
        if (value === null || value > 255) return usage(out, '--concat-ref needs an integer 0-255');
        concatRef = value;
        break;
      }
      case '--validity-minutes': {
        const value = parseInteger(takeValue() ?? '');
        if (value === null) return usage(out, '--validity-minutes needs a whole number of minutes');
        validityMinutes = value;
        break;
      }
      default:
        return usage(out, `unknown argument "${arg}"`);
    }
  }
  if (to === undefined) return usage(out, 'encode needs --to NUMBER');
  if (text === undefined) return usage(out, 'encode needs --text TEXT');
  try {
    const parts = encodeSubmit({ to, text, statusReport, ...(concatRef === undefined ? {} : { concatRef }), ...(validityMinutes === undefined ? {} : { validityMinutes }) });
    for (const part of parts) out(part.pdu);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof PduError) {
      out(`error: ${error.message}`);
      return EXIT_BAD_PDU;
    }
    throw error;
  }
}

/** The JSON line printed for a decoded PDU: the fields first, then everything else decoded. */
function toJsonLine(decoded: DecodedPdu): string {
  if (decoded.type === 'status-report') {
    return JSON.stringify({
      type: decoded.type,
      number: decoded.number,
      text: null,
      encoding: null,
      concat: null,
      timestamp: decoded.timestamp,
      status: decoded.status,
      statusText: decoded.statusText,
      statusClass: decoded.statusClass,
      delivered: decoded.delivered,
      final: decoded.final,
      dischargeTime: decoded.dischargeTime,
      messageRef: decoded.messageRef,
      smsc: decoded.smsc,
    });
  }
  const concat = decoded.concat && { ref: decoded.concat.ref, part: decoded.concat.part, total: decoded.concat.total, ref16: decoded.concat.ref16 };
  const common = { type: decoded.type, number: decoded.number, text: decoded.text, encoding: decoded.encoding, concat };
  if (decoded.type === 'deliver') {
    return JSON.stringify({ ...common, timestamp: decoded.timestamp, smsc: decoded.smsc, ...(decoded.statusReportIndication ? { statusReportIndication: true } : {}) });
  }
  return JSON.stringify({
    ...common,
    timestamp: null,
    messageRef: decoded.messageRef,
    statusReportRequest: decoded.statusReportRequest,
    ...(decoded.validityMinutes === undefined ? {} : { validityMinutes: decoded.validityMinutes }),
    smsc: decoded.smsc,
  });
}

function decodeCommand(args: string[], out: (line: string) => void): number {
  if (args.length !== 1) return usage(out, 'decode needs exactly one HEX argument');
  try {
    out(toJsonLine(decodePdu(args[0]!)));
    return EXIT_OK;
  } catch (error) {
    // decodePdu throws nothing but PduError.
    out(`error: bad PDU: ${(error as Error).message}`);
    return EXIT_BAD_PDU;
  }
}

/** Runs `smsbox pdu …` and returns the exit code; every line of output goes through `out`. */
export function pduCommand(argv: string[], out: (line: string) => void): number {
  const args = argv[0] === 'pdu' ? argv.slice(1) : argv;
  const [command, ...rest] = args;
  if (command === 'encode') return encodeCommand(rest, out);
  if (command === 'decode') return decodeCommand(rest, out);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    return usage(out, command === undefined ? 'missing command' : 'help requested');
  }
  return usage(out, `unknown command "${command}"`);
}
