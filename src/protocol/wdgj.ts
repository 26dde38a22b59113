/** The WDGJ 3.0 custom SMS interface: message names and reply codes (see PROTOCOL.md). */

export type WdgjMessage = 'smsAU' | 'smsSnd' | 'smsBalance';

const MESSAGES: Record<string, WdgjMessage> = { smsau: 'smsAU', smssnd: 'smsSnd', smsbalance: 'smsBalance' };

/** `Msg` values are matched without regard to case; null for anything else. */
export function parseMessageName(value: string | undefined): WdgjMessage | null {
  return value === undefined ? null : (MESSAGES[value.trim().toLowerCase()] ?? null);
}

export const AuthReply = { invalid: '0', valid: '1' } as const;

export const SendReply = {
  accountInvalid: '0',
  accepted: '1',
  balanceTooLow: '2',
  interfaceFailure: '3',
} as const;
export type SendReplyCode = (typeof SendReply)[keyof typeof SendReply];

/** Why a send was answered `3`; kept in the events log for the shop. */
export type RejectReason =
  | 'unknown-message'
  | 'empty-body'
  | 'no-valid-number'
  | 'too-long'
  | 'store-failure'
  | 'modem-fault';
