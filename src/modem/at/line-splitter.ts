/**
 * Bytes from the modem → lines and `> ` prompts. Pure and chunk-agnostic: it
 * decides byte by byte, so however the serial driver happens to cut the
 * stream into chunks, the same bytes give the same tokens.
 *
 * Rules:
 * - CR and LF both end a line, so `\r\n`, `\r`, `\n` and `\r\r\n` all work;
 *   empty lines are dropped (V.25ter wraps every response in blank lines).
 * - `> ` (0x3E 0x20) at the start of a line is the AT+CMGS prompt. It has no
 *   line ending, which is why it must be recognised here, by bytes, and not
 *   by a readline parser.
 * - Noise (NUL, 0xFF, other control characters, bytes that are not UTF-8) is
 *   removed from a line. A line that was nothing but noise is dropped and
 *   counted in `garbageLines`; a line that had noise around real text (a
 *   module's first `RDY` after power-on often does) keeps its text and is
 *   counted in `noisyLines`.
 * - A "line" longer than `maxLineBytes` without a line end is noise too
 *   (a modem at the wrong baud rate produces exactly that): it is dropped.
 */

export type AtToken = { kind: 'line'; text: string } | { kind: 'prompt' };

const CR = 0x0d;
const LF = 0x0a;
const PROMPT_GT = 0x3e;
const SPACE = 0x20;

// C0 controls except TAB, DEL, C1 controls, and U+FFFD (what an undecodable
// byte such as 0xFF becomes).
const NOISE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\ufffd]/g;

export class AtLineSplitter {
  private pending: number[] = [];
  /** Lines that were nothing but noise. */
  garbageLines = 0;
  /** Lines that kept their text after noise was removed. */
  noisyLines = 0;

  constructor(private readonly maxLineBytes = 4096) {}

  push(chunk: Uint8Array, emit: (token: AtToken) => void): void {
    for (const byte of chunk) {
      if (byte === CR || byte === LF) {
        if (this.pending.length > 0) this.finishLine(emit);
        continue;
      }
      this.pending.push(byte);
      if (this.pending.length === 2 && this.pending[0] === PROMPT_GT && this.pending[1] === SPACE) {
        this.pending = [];
        emit({ kind: 'prompt' });
      } else if (this.pending.length > this.maxLineBytes) {
        this.pending = [];
        this.garbageLines++;
      }
    }
  }

  private finishLine(emit: (token: AtToken) => void): void {
    const raw = Buffer.from(this.pending).toString('utf8');
    this.pending = [];
    const cleaned = raw.replace(NOISE, '');
    const text = cleaned.trim();
    const hadNoise = cleaned.length !== raw.length;
    if (text === '') {
      if (hadNoise) this.garbageLines++;
      return;
    }
    if (hadNoise) this.noisyLines++;
    emit({ kind: 'line', text });
  }
}
