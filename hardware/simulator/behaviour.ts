/**
 * What a behaviour module of the virtual HAT is. The idea is zwave-js's
 * MockControllerBehavior: the core parses the bytes into commands and offers
 * each command to its behaviours in turn; the first that answers wins, a
 * behaviour that does not know the command passes. State that several
 * behaviours read (power, registration, faults) is owned by one of them and
 * read by the others through the parts they are given.
 */
import { splitArgs, type ParsedCommand } from './at-parse.js';
import { CommandFailure, cmeError, cmsError, plainError } from './errors.js';

/** Where a command line waits for free text after a `> ` prompt (the PDU of +CMGS). */
export interface PromptHandler {
  /** Most characters kept; the rest of a longer text is dropped. */
  maxChars: number;
  /** The text typed after the prompt, when Ctrl-Z ends it (CR, LF and spaces left out). */
  submit(text: string): void;
}

/** An answer: information lines (then OK), a failure, or a prompt for more text. */
export type Handled = string[] | CommandFailure | { prompt: PromptHandler };

export interface Behaviour {
  readonly name: string;
  /** Answers a command, or returns undefined to pass it to the next behaviour. May throw a CommandFailure. */
  onCommand?(command: ParsedCommand): Handled | undefined;
  /** ATZ, AT&F and every boot: settings back to their power-on values. */
  resetSettings?(): void;
}

/** 27.005 commands, whose failures are +CMS ERRORs; every other command fails with +CME ERROR. */
export const SMS_COMMANDS = new Set(['+CMGF', '+CMGS', '+CMGL', '+CMGR', '+CMGD', '+CMMS', '+CNMI', '+CPMS', '+CSCA', '+CSMS', '+CNMA']);

export function intArg(value: string | undefined, min: number, max: number): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  const n = Number(value);
  return n >= min && n <= max ? n : null;
}

export function paramError(name: string): CommandFailure {
  return SMS_COMMANDS.has(name) ? cmsError(302) : cmeError(3);
}

/** Generic `=n`, `?`, `=?` for a numeric setting. */
export function numericSetting(command: ParsedCommand, name: string, min: number, max: number, get: () => number, set: (v: number) => void): Handled {
  switch (command.form) {
    case 'read':
      return [`${name}: ${get()}`];
    case 'test':
      return [`${name}: (${min}-${max})`];
    case 'set': {
      const value = intArg(splitArgs(command.args)[0], min, max);
      if (value === null) return paramError(name);
      set(value);
      return [];
    }
    default:
      return plainError();
  }
}

export const pad2 = (n: number): string => String(n).padStart(2, '0');
