import { PduError } from './errors.js';

/** Parses a hex string (either case, surrounding white space allowed) into bytes. */
export function hexToBytes(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new PduError('PDU must be a hex string');
  const clean = hex.trim();
  if (clean.length === 0) throw new PduError('PDU is empty');
  if (!/^[0-9a-fA-F]+$/.test(clean)) throw new PduError('PDU contains characters that are not hex digits');
  if (clean.length % 2 !== 0) throw new PduError(`PDU has an odd number of hex digits (${clean.length})`);
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

export function bytesToHex(bytes: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += (bytes[i]! & 0xff).toString(16).padStart(2, '0');
  return out.toUpperCase();
}

/**
 * A cursor over the PDU bytes. Every read is bounds-checked and names the field
 * it was reading, so a truncated PDU fails with a message a technician can use.
 */
export class ByteReader {
  private pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  u8(field: string): number {
    if (this.pos >= this.bytes.length) {
      throw new PduError(`PDU ends before ${field} (octet ${this.pos + 1} of ${this.bytes.length})`);
    }
    return this.bytes[this.pos++]!;
  }

  take(count: number, field: string): Uint8Array {
    if (count < 0 || this.pos + count > this.bytes.length) {
      throw new PduError(
        `PDU too short for ${field}: needs ${count} octets at offset ${this.pos}, only ${this.remaining} left`,
      );
    }
    const slice = this.bytes.subarray(this.pos, this.pos + count);
    this.pos += count;
    return slice;
  }
}

/** Collects output octets. */
export class ByteWriter {
  private readonly out: number[] = [];
  u8(value: number): this {
    this.out.push(value & 0xff);
    return this;
  }
  bytes(values: ArrayLike<number>): this {
    for (let i = 0; i < values.length; i++) this.out.push(values[i]! & 0xff);
    return this;
  }
  get length(): number {
    return this.out.length;
  }
  toHex(): string {
    return bytesToHex(this.out);
  }
}
