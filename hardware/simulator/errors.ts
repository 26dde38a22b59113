/**
 * Error codes the virtual modem reports, with the texts it prints when
 * `AT+CMEE=2` asks for verbose errors. Codes and wording follow 3GPP TS 27.007
 * §9.2 (+CME ERROR) and TS 27.005 §3.2.5 (+CMS ERROR); the network causes
 * below 128 are the RP/CP causes of TS 24.011 that modems pass through.
 */

export const CME_TEXT: Readonly<Record<number, string>> = {
  0: 'phone failure',
  3: 'operation not allowed',
  4: 'operation not supported',
  10: 'SIM not inserted',
  11: 'SIM PIN required',
  13: 'SIM failure',
  14: 'SIM busy',
  21: 'invalid index',
  30: 'no network service',
  100: 'unknown',
};

export const CMS_TEXT: Readonly<Record<number, string>> = {
  1: 'Unassigned (unallocated) number',
  8: 'Operator determined barring',
  10: 'Call barred',
  21: 'Short message transfer rejected',
  27: 'Destination out of service',
  28: 'Unidentified subscriber',
  29: 'Facility rejected',
  30: 'Unknown subscriber',
  38: 'Network out of order',
  41: 'Temporary failure',
  42: 'Congestion',
  47: 'Resources unavailable, unspecified',
  50: 'Requested facility not subscribed',
  69: 'Requested facility not implemented',
  96: 'Invalid mandatory information',
  111: 'Protocol error, unspecified',
  127: 'Interworking, unspecified',
  300: 'ME failure',
  301: 'SMS service of ME reserved',
  302: 'operation not allowed',
  303: 'operation not supported',
  304: 'invalid PDU mode parameter',
  305: 'invalid text mode parameter',
  310: 'SIM not inserted',
  311: 'SIM PIN required',
  313: 'SIM failure',
  314: 'SIM busy',
  320: 'memory failure',
  321: 'invalid memory index',
  322: 'memory full',
  330: 'SMSC address unknown',
  331: 'no network service',
  332: 'network timeout',
  340: 'no +CNMA acknowledgement expected',
  500: 'unknown error',
};

/** Why a command failed; turned into text by the modem according to `AT+CMEE`. */
export class CommandFailure {
  constructor(
    readonly family: 'plain' | 'cme' | 'cms',
    readonly code: number = 0,
  ) {}
}

export const plainError = (): CommandFailure => new CommandFailure('plain');
export const cmeError = (code: number): CommandFailure => new CommandFailure('cme', code);
export const cmsError = (code: number): CommandFailure => new CommandFailure('cms', code);

/** The final result line for a failure under the given `AT+CMEE` mode. */
export function formatFailure(failure: CommandFailure, cmee: number): string {
  if (failure.family === 'plain' || cmee === 0) return 'ERROR';
  const prefix = failure.family === 'cme' ? '+CME ERROR: ' : '+CMS ERROR: ';
  if (cmee === 2) {
    const table = failure.family === 'cme' ? CME_TEXT : CMS_TEXT;
    const text = table[failure.code];
    if (text !== undefined) return prefix + text;
  }
  return prefix + failure.code;
}
