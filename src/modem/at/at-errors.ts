import { lookupCmeText, lookupCmsText } from './errors.js';

/**
 * Every failure of an AT command. `written` tells the caller whether the
 * command's bytes reached the stream: for AT+CMGS that is the difference
 * between "never sent, safe to retry" and "may have gone out".
 */
export class AtError extends Error {
  override name = 'AtError';
  constructor(
    message: string,
    /** The command as the caller gave it (without the trailing CR). */
    readonly command: string,
    /** The final result line the modem printed, or null when there was none. */
    readonly finalLine: string | null,
    /**
     * Whether everything the caller asked to send (the command line, and
     * for a prompt command its payload) was handed to the stream.
     */
    readonly written: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** `+CME ERROR: <n>` or `+CME ERROR: <text>`. */
export class AtCmeError extends AtError {
  override name = 'AtCmeError';
  /** The 27.007 number; for a verbose text, the number it stands for, or null if unknown. */
  readonly code: number | null;
  /** The text after `+CME ERROR:` as printed (a number stays a string here). */
  readonly text: string;
  constructor(command: string, finalLine: string, detail: string, written = true) {
    super(`${command}: ${finalLine}`, command, finalLine, written);
    this.text = detail;
    this.code = /^\d+$/.test(detail) ? Number(detail) : lookupCmeText(detail);
  }
}

/** `+CMS ERROR: <n>` or `+CMS ERROR: <text>`. */
export class AtCmsError extends AtError {
  override name = 'AtCmsError';
  /** The 27.005 number; for a verbose text, the number it stands for, or null if unknown. */
  readonly code: number | null;
  readonly text: string;
  constructor(command: string, finalLine: string, detail: string, written = true) {
    super(`${command}: ${finalLine}`, command, finalLine, written);
    this.text = detail;
    this.code = /^\d+$/.test(detail) ? Number(detail) : lookupCmsText(detail);
  }
}

/** No final result code within the command's time limit. */
export class AtTimeoutError extends AtError {
  override name = 'AtTimeoutError';
  constructor(command: string, readonly timeoutMs: number, written: boolean, detail?: string) {
    super(`${command}: no answer within ${timeoutMs} ms${detail ? ` (${detail})` : ''}`, command, null, written);
  }
}

/** The modem printed its boot banner (RDY, START, …) while this command was in flight. */
export class AtModemRebootedError extends AtError {
  override name = 'AtModemRebootedError';
  constructor(command: string, readonly bootLine: string, written: boolean) {
    super(`${command}: modem restarted (${bootLine}) while the command was in flight`, command, null, written);
  }
}

/** The stream closed or failed, or the engine was disposed. */
export class AtClosedError extends AtError {
  override name = 'AtClosedError';
  constructor(command: string, written: boolean, cause?: unknown) {
    super(`${command}: the serial stream is closed`, command, null, written, cause === undefined ? undefined : { cause });
  }
}
