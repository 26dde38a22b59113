/**
 * The only error the codec throws. Callers (the modem loop, the inbox, the CLI)
 * catch this one type to tell "the PDU was bad" apart from a bug of ours.
 */
export class PduError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PduError';
  }
}
