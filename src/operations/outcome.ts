/**
 * What every operation returns: the value it produced, or a refusal that says
 * why in words a shop owner can act on (Chinese first, English available).
 * Front ends only render a refusal: the JSON API as `{error: code, message,
 * message_en}` with `httpStatus`, a form as a flash, the WDGJ adapter as a
 * reply code.
 */

export interface Refusal<Code extends string = string> {
  readonly ok: false;
  /** Stable and machine-readable: the JSON API's `error` field. */
  readonly code: Code;
  /** zh-CN, saying what to do. */
  readonly message: string;
  readonly message_en: string;
  /** The HTTP status the JSON API answers with; absent where HTTP is not the front end (WDGJ replies). */
  readonly httpStatus?: number;
}

export interface Done<T> {
  readonly ok: true;
  readonly value: T;
}

export type Outcome<T, Code extends string = string> = Done<T> | Refusal<Code>;

export function done<T>(value: T): Done<T> {
  return { ok: true, value };
}

export function refuse<Code extends string>(code: Code, message: string, message_en: string, httpStatus?: number): Refusal<Code> {
  return httpStatus === undefined ? { ok: false, code, message, message_en } : { ok: false, code, message, message_en, httpStatus };
}
