/**
 * Splitting one AT command line into its commands, the way a V.250 modem does:
 * `AT+CMGF=0;+CNMI=2,1` is two extended commands, `ATE0V1` two basic ones,
 * `AT&F` one. Pure functions, so the tricky parts are unit-tested on their own.
 */

export type CommandForm = 'exec' | 'set' | 'read' | 'test';

export interface ParsedCommand {
  /** Upper-case name: `E`, `I`, `&F`, `S0`, `D`, `+CMGF`, `^SYSINFO`. */
  name: string;
  form: CommandForm;
  /** Raw parameter text: after `=` for set, the digits of a basic command, the dial string of `D`. */
  args: string;
}

const EXTENDED_PREFIXES = new Set(['+', '*', '^', '$', '#', '%']);

/** Removes spaces outside double quotes (V.250 ignores them) and keeps quoted text verbatim. */
function stripSpaces(body: string): string {
  let out = '';
  let quoted = false;
  for (const ch of body) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === ' ' || ch === '\t')) continue;
    out += ch;
  }
  return out;
}

/**
 * Parses what follows `AT` on a command line. Returns null when the line is
 * not well formed (the modem answers ERROR without running any of it).
 */
export function parseCommandLine(body: string): ParsedCommand[] | null {
  const text = stripSpaces(body);
  const commands: ParsedCommand[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === ';') {
      i++;
      continue;
    }
    if (EXTENDED_PREFIXES.has(ch)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_.]/.test(text[j]!)) j++;
      const name = text.slice(i, j).toUpperCase();
      if (name.length < 2) return null;
      // The parameters run to the next `;` that is not inside quotes.
      let k = j;
      let quoted = false;
      while (k < text.length && (quoted || text[k] !== ';')) {
        if (text[k] === '"') quoted = !quoted;
        k++;
      }
      if (quoted) return null;
      const rest = text.slice(j, k);
      let form: CommandForm;
      let args = '';
      if (rest === '') form = 'exec';
      else if (rest === '?') form = 'read';
      else if (rest === '=?') form = 'test';
      else if (rest.startsWith('=')) {
        form = 'set';
        args = rest.slice(1);
      } else return null;
      commands.push({ name, form, args });
      i = k;
      continue;
    }
    const upper = ch.toUpperCase();
    if (upper === 'D') {
      // A dial string swallows the rest of the line.
      commands.push({ name: 'D', form: 'exec', args: text.slice(i + 1) });
      break;
    }
    if (upper === 'S') {
      const m = /^[Ss](\d+)(=\d*|\?)?/.exec(text.slice(i));
      if (!m) return null;
      const suffix = m[2] ?? '';
      commands.push({
        name: `S${Number(m[1])}`,
        form: suffix === '?' ? 'read' : suffix.startsWith('=') ? 'set' : 'exec',
        args: suffix.startsWith('=') ? suffix.slice(1) : '',
      });
      i += m[0].length;
      continue;
    }
    let name: string;
    let j: number;
    if (ch === '&' || ch === '\\') {
      const letter = text[i + 1];
      if (!letter || !/[A-Za-z]/.test(letter)) return null;
      name = ch + letter.toUpperCase();
      j = i + 2;
    } else if (/[A-Za-z]/.test(ch)) {
      name = upper;
      j = i + 1;
    } else {
      return null;
    }
    let k = j;
    while (k < text.length && /[0-9]/.test(text[k]!)) k++;
    if (text[k] === '?') {
      commands.push({ name, form: 'read', args: text.slice(j, k) });
      k++;
    } else {
      commands.push({ name, form: 'exec', args: text.slice(j, k) });
    }
    i = k;
  }
  return commands;
}

/**
 * Splits a parameter list on commas outside quotes. Quoted values come back
 * without their quotes; empty positions come back as undefined.
 */
export function splitArgs(args: string): (string | undefined)[] {
  if (args === '') return [];
  const out: (string | undefined)[] = [];
  let current = '';
  let quoted = false;
  let wasQuoted = false;
  for (const ch of args) {
    if (ch === '"') {
      quoted = !quoted;
      wasQuoted = true;
      continue;
    }
    if (ch === ',' && !quoted) {
      out.push(current === '' && !wasQuoted ? undefined : current);
      current = '';
      wasQuoted = false;
      continue;
    }
    current += ch;
  }
  out.push(current === '' && !wasQuoted ? undefined : current);
  return out;
}
