import { chmodSync, renameSync, readFileSync, statSync, writeFileSync, unlinkSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { parseConfig, type Config } from './config.js';

/**
 * Writes settings back into the owner's config file by editing the TOML text
 * in place: only the value of each edited key changes, so comments (Chinese
 * ones too), blank lines, the BOM and CRLF line ends stay as the owner wrote
 * them. A key that is not in the file yet is added under its section (the
 * section is appended when missing).
 */

export type TomlValue = string | number | boolean | readonly string[];

export type ConfigEdit =
  /** Sets `key` in `[section]`, or in the `index`-th `[[section]]` block (accounts). */
  | { section: string; key: string; value: TomlValue; index?: number }
  /** Appends a new `[[account]]` block. */
  | { addAccount: { user: string; password: string; balance?: string | number; ignoreQuietHours?: boolean } };

/** A TOML basic string: the few characters TOML requires escaped, the rest (Chinese) as is. */
export function tomlString(value: string): string {
  return `"${value.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    switch (c) {
      case '\\': return '\\\\';
      case '"': return '\\"';
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\t': return '\\t';
      default: return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  })}"`;
}

export function tomlValue(value: TomlValue): string {
  if (typeof value === 'string') return tomlString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a TOML number: ${value}`);
    return String(value);
  }
  return `[${value.map(tomlString).join(', ')}]`;
}

interface Line {
  start: number;
  /** End of the text, before the line break. */
  end: number;
  text: string;
}

function splitLines(source: string): Line[] {
  const lines: Line[] = [];
  const re = /\r\n|\n|\r/g;
  let start = 0;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    lines.push({ start, end: m.index, text: source.slice(start, m.index) });
    start = m.index + m[0].length;
  }
  lines.push({ start, end: source.length, text: source.slice(start) });
  return lines;
}

/** The end offset of the TOML value starting at `pos` (strings, arrays over several lines, bare values). */
function valueEnd(source: string, pos: number): number {
  const c = source[pos];
  if (source.startsWith('"""', pos) || source.startsWith("'''", pos)) {
    const quote = source.slice(pos, pos + 3);
    let i = pos + 3;
    for (;;) {
      const found = source.indexOf(quote, i);
      if (found === -1) return source.length;
      if (quote === '"""' && source[found - 1] === '\\') {
        i = found + 1;
        continue;
      }
      let end = found + 3;
      while (source[end] === quote[0]) end++; // up to two quotes may belong to the content
      return end;
    }
  }
  if (c === '"') {
    for (let i = pos + 1; i < source.length; i++) {
      if (source[i] === '\\') i++;
      else if (source[i] === '"') return i + 1;
      else if (source[i] === '\n' || source[i] === '\r') return i;
    }
    return source.length;
  }
  if (c === "'") {
    const found = source.slice(pos + 1).search(/['\r\n]/);
    return found === -1 ? source.length : pos + 1 + found + (source[pos + 1 + found] === "'" ? 1 : 0);
  }
  if (c === '[' || c === '{') {
    let depth = 0;
    for (let i = pos; i < source.length; i++) {
      const ch = source[i]!;
      if (ch === '"' || ch === "'") i = valueEnd(source, i) - 1;
      else if (ch === '#') {
        while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
      } else if (ch === '[' || ch === '{') depth++;
      else if (ch === ']' || ch === '}') {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return source.length;
  }
  const rest = source.slice(pos);
  const stop = rest.search(/[\s#,]/);
  return stop === -1 ? source.length : pos + stop;
}

interface Located {
  /** Offset range of the key's value, when the key is present. */
  value?: { start: number; end: number };
  /** Offset after which a new `key = value` line goes (end of the section's last non-blank line), when the section exists. */
  insertAfter?: number;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function locate(source: string, section: string, key: string, index: number): Located {
  const lines = splitLines(source);
  const keyRe = new RegExp(`^(\\s*(?:"${escapeRe(key)}"|${escapeRe(key)})\\s*=\\s*)`);
  let inTarget = false;
  let arrayCount = -1;
  let found: Located = {};
  let skipUntil = -1;
  for (const line of lines) {
    if (line.start < skipUntil) continue; // inside a value spanning lines
    const header = /^\s*\[(\[)?\s*([^\]]+?)\s*\]/.exec(line.text.replace(/^\uFEFF/, ''));
    if (header) {
      if (inTarget) return found;
      const isArray = header[1] !== undefined;
      if (header[2] === section) {
        if (isArray) arrayCount++;
        inTarget = !isArray || arrayCount === index;
        if (inTarget) found = { insertAfter: line.end };
      }
      continue;
    }
    if (!inTarget) {
      const m = /^\s*[A-Za-z0-9_"-]+\s*=\s*/.exec(line.text);
      if (m) skipUntil = valueEnd(source, line.start + m[0].length);
      continue;
    }
    const m = keyRe.exec(line.text.replace(/^\uFEFF/, ''));
    if (m) {
      const bom = line.text.startsWith('\uFEFF') ? 1 : 0;
      const start = line.start + bom + m[1]!.length;
      return { value: { start, end: valueEnd(source, start) } };
    }
    const other = /^\s*[A-Za-z0-9_"-]+\s*=\s*/.exec(line.text);
    if (other) {
      const end = valueEnd(source, line.start + other[0].length);
      skipUntil = end;
      found.insertAfter = Math.max(line.end, lines.find((l) => l.start <= end && end <= l.end)?.end ?? line.end);
    }
  }
  return found;
}

function newline(source: string): string {
  return /\r\n/.test(source) ? '\r\n' : '\n';
}

/** Applies edits to config text; throws when an `[[account]]` index does not exist. */
export function editConfigText(source: string, edits: readonly ConfigEdit[]): string {
  let text = source;
  for (const edit of edits) {
    const nl = newline(text);
    if ('addAccount' in edit) {
      const a = edit.addAccount;
      const lines = [`[[account]]`, `user = ${tomlString(a.user)}`, `password = ${tomlString(a.password)}`];
      if (a.balance !== undefined && a.balance !== '') lines.push(`balance = ${typeof a.balance === 'number' ? a.balance : tomlString(a.balance)}`);
      if (a.ignoreQuietHours) lines.push('ignore_quiet_hours = true');
      const sep = text === '' || /(\r\n|\n|\r)$/.test(text) ? '' : nl;
      text = `${text}${sep}${nl}${lines.join(nl)}${nl}`;
      continue;
    }
    const value = tomlValue(edit.value);
    const found = locate(text, edit.section, edit.key, edit.index ?? 0);
    if (found.value) {
      text = text.slice(0, found.value.start) + value + text.slice(found.value.end);
    } else if (found.insertAfter !== undefined) {
      text = `${text.slice(0, found.insertAfter)}${nl}${edit.key} = ${value}${text.slice(found.insertAfter)}`;
    } else if (edit.index !== undefined && edit.index > 0) {
      throw new Error(`no [[${edit.section}]] number ${edit.index + 1}`);
    } else {
      const sep = text === '' || /(\r\n|\n|\r)$/.test(text) ? '' : nl;
      text = `${text}${sep}${nl}[${edit.section}]${nl}${edit.key} = ${value}${nl}`;
    }
  }
  return text;
}

/**
 * Edits the config file, validates the result with parseConfig (a ConfigError
 * leaves the file untouched) and replaces the file atomically (temp file and
 * rename, so a power cut leaves the old or the new file, never half of one).
 */
export function saveConfigEdits(file: string, edits: readonly ConfigEdit[]): Config {
  const source = readFileSync(file, 'utf8');
  const next = editConfigText(source, edits);
  const config = parseConfig(next, file);
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  // The new file keeps the old one's permissions (it holds passwords: 0600 stays 0600).
  const mode = statSync(file).mode & 0o7777;
  try {
    writeFileSync(temp, next, { encoding: 'utf8', flush: true, mode });
    chmodSync(temp, mode); // writeFileSync's mode is filtered by the umask

    renameSync(temp, file);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    throw err;
  }
  return config;
}
