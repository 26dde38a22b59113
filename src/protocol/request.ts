import iconv from 'iconv-lite';

/**
 * Parsing of WDGJ requests from the raw request target. Pure: bytes in, values out.
 *
 * The target arrives as a latin1 string (one char per byte) so that raw,
 * unencoded UTF-8 or GBK bytes that some clients put in the URL survive
 * untouched until we decide how to decode them.
 */

export type Params = Map<string, string>;

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Bytes → text: UTF-8 when the bytes are valid UTF-8, otherwise GB18030 (a
 * superset of GBK and GB2312), which is what Windows-era Chinese clients and
 * proxies send when they do not use UTF-8.
 */
export function decodeText(bytes: Uint8Array): string {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'gb18030');
  }
}

const HEX = /^[0-9a-fA-F]{2}$/;

/** Percent-decodes one component to bytes; "+" is a space; a stray "%" is kept as is. */
export function percentDecodeBytes(component: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < component.length; i++) {
    const code = component.charCodeAt(i);
    if (code === 0x2b /* + */) {
      out.push(0x20);
    } else if (code === 0x25 /* % */ && HEX.test(component.slice(i + 1, i + 3))) {
      out.push(parseInt(component.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (code <= 0xff) {
      out.push(code);
    } else {
      // Not a latin1 byte string (a caller passed decoded text): keep its UTF-8 bytes.
      out.push(...Buffer.from(component[i]!, 'utf8'));
    }
  }
  return Buffer.from(out);
}

/**
 * Parses `a=1&b=2` into params. Names are lower-cased (the spec spells them
 * `User`/`PWD` and `user`/`pwd`); the first occurrence of a name wins. A `?`
 * inside the query is a separator too: a URL configured in 管家助理 that
 * already had a query (`/sms?key=x`) becomes `/sms?key=x?Msg=smsAU&…`.
 */
export function parseQueryString(query: string, into: Params = new Map()): Params {
  for (const pair of query.split(/[&?]/)) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const name = decodeText(percentDecodeBytes(rawName)).trim().toLowerCase();
    if (name === '' || into.has(name)) continue;
    into.set(name, decodeText(percentDecodeBytes(rawValue)));
  }
  return into;
}

/** Splits a request target (latin1) into its path and params. */
export function parseRequestTarget(target: string): { path: string; params: Params } {
  const q = target.indexOf('?');
  if (q === -1) return { path: target, params: new Map() };
  return { path: target.slice(0, q), params: parseQueryString(target.slice(q + 1)) };
}

/** Bytes outside printable ASCII, percent-encoded, so a raw request line can be parsed like a proper one. */
export function escapeRawTarget(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) {
    out += byte > 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
