/**
 * Why a send failed, in the terms the dispatcher decides on.
 *
 * The rules (the dispatcher relies on them):
 * - `uncertain` = the message may have reached the network, so sending it again
 *   may deliver it twice. It is true when
 *   1. the AT engine had written the whole command and PDU (`written`) and then
 *      got no answer: a timeout, a modem reboot or the stream closing while
 *      AT+CMGS was in flight; or
 *   2. a later segment failed after earlier segments of the same message had
 *      been accepted (`segmentsSent > 0`): the recipient may hold part of it.
 *   A `+CMS ERROR` / `+CME ERROR` / `ERROR` answer to a segment is the modem
 *   saying "not sent", so that segment alone never makes a send uncertain.
 * - `retryable` = the same message may succeed later. From `classifyCmsError`
 *   (`classifyCmeError` for +CME) for error answers; always true for timeouts,
 *   reboots, a closed stream, a modem in a hard fault or not started (the box
 *   is broken, not the message); false when the message cannot be encoded
 *   (an invalid number, too many segments).
 * - `code` is the +CMS/+CME number when there was one, `reason` a text for the
 *   events log, `segmentsSent` how many segments the network accepted (their
 *   message references are in `messageRefs`).
 */
export class ModemSendError extends Error {
  override name = 'ModemSendError';
  readonly retryable: boolean;
  readonly uncertain: boolean;
  readonly code: number | null;
  readonly reason: string;
  readonly segmentsSent: number;
  readonly messageRefs: number[];

  constructor(fields: { retryable: boolean; uncertain: boolean; code?: number | null; reason: string; segmentsSent: number; messageRefs?: number[] }, options?: { cause?: unknown }) {
    super(`send failed (${fields.retryable ? 'retryable' : 'final'}${fields.uncertain ? ', uncertain' : ''}): ${fields.reason}`, options);
    this.retryable = fields.retryable;
    this.uncertain = fields.uncertain;
    this.code = fields.code ?? null;
    this.reason = fields.reason;
    this.segmentsSent = fields.segmentsSent;
    this.messageRefs = fields.messageRefs ?? [];
  }
}
