import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';

/**
 * The backup file's container: a POSIX ustar archive, gzip-compressed, written
 * and read here with node:zlib (no dependency). Only what a backup needs:
 * regular files with short names. The reader is strict (header checksums,
 * the members a backup may have, bounded sizes) because it reads uploads.
 */

const BLOCK = 512;

export interface ArchiveMember {
  name: string;
  /** A file on disk, streamed, or bytes held in memory (the manifest). */
  file?: string;
  data?: Buffer;
  size: number;
  mtimeMs: number;
}

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL, as ustar writes numbers.
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

export function ustarHeader(name: string, size: number, mtimeMs: number): Buffer {
  if (Buffer.byteLength(name) > 100 || !/^[\x21-\x7e]+$/.test(name)) throw new Error(`member name not storable in ustar: ${name}`);
  if (size > 0o77777777777) throw new Error('member too large for ustar');
  const header = Buffer.alloc(BLOCK, 0);
  header.write(name, 0, 100, 'ascii');
  header.write(octal(0o644, 8), 100, 'ascii');
  header.write(octal(0, 8), 108, 'ascii');
  header.write(octal(0, 8), 116, 'ascii');
  header.write(octal(size, 12), 124, 'ascii');
  header.write(octal(Math.floor(mtimeMs / 1000), 12), 136, 'ascii');
  header.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  header.write('0', 156, 'ascii');
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.write('smsbox', 265, 'ascii');
  header.write('smsbox', 297, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return header;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK, 0);

async function* tarBlocks(members: readonly ArchiveMember[]): AsyncGenerator<Buffer> {
  for (const member of members) {
    yield ustarHeader(member.name, member.size, member.mtimeMs);
    let written = 0;
    if (member.data) {
      yield member.data;
      written = member.data.length;
    } else if (member.file) {
      for await (const chunk of createReadStream(member.file, { highWaterMark: 64 * 1024 })) {
        written += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    }
    // A file that changed size after it was hashed would make the archive lie about it.
    if (written !== member.size) throw new Error(`${member.name} changed while being archived (${written} of ${member.size} bytes)`);
    yield padding(member.size);
  }
  yield Buffer.alloc(BLOCK * 2, 0);
}

/** The members as a .tar.gz byte stream; nothing is held whole in memory. */
export function tarGzStream(members: readonly ArchiveMember[], gzipLevel = 6): Readable {
  const gzip = createGzip({ level: gzipLevel });
  const tar = Readable.from(tarBlocks(members), { objectMode: false });
  tar.on('error', (err) => gzip.destroy(err));
  gzip.on('close', () => tar.destroy());
  return tar.pipe(gzip);
}

// ---- reading --------------------------------------------------------------

/** Why an archive could not be read: the caller turns it into a refusal. */
export class ArchiveError extends Error {
  constructor(
    readonly kind: 'not-gzip' | 'corrupt' | 'truncated' | 'not-tar' | 'unexpected-member' | 'too-large',
    message: string,
  ) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export interface ExtractedMember {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

export interface ExtractLimits {
  /** Names a member may have; any other is refused. */
  allowed: ReadonlySet<string>;
  /** Bytes of all members together, after decompression. */
  maxTotalBytes: number;
  /** Bytes of the compressed stream. */
  maxCompressedBytes: number;
}

function parseOctal(field: Buffer): number | null {
  const text = field.toString('ascii').replace(/[\0 ]+$/g, '').replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return null;
  return parseInt(text, 8);
}

function headerChecksumOk(header: Buffer): boolean {
  const stored = parseOctal(header.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return stored === sum;
}

/**
 * A Writable that takes the uncompressed tar bytes and writes each member to
 * `dir`, hashing it on the way. Refuses anything but regular files with an
 * allowed name, a damaged header, or more than the limit of bytes.
 */
class TarExtractor extends Writable {
  readonly members: ExtractedMember[] = [];
  private pending = Buffer.alloc(0);
  private current: { name: string; size: number; left: number; hash: ReturnType<typeof createHash>; out: WriteStream; path: string } | null = null;
  private skip = 0;
  private total = 0;
  private ended = false;
  private zeroBlocks = 0;
  private writeError: Error | null = null;

  constructor(private readonly dir: string, private readonly limits: ExtractLimits) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.consume(chunk).then(() => callback(), (err: Error) => callback(err));
  }

  override _final(callback: (err?: Error | null) => void): void {
    if (this.current || !this.ended) {
      callback(new ArchiveError('truncated', 'the archive ends in the middle'));
      return;
    }
    callback();
  }

  private async consume(chunk: Buffer): Promise<void> {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (data.length > 0) {
      if (this.ended) return; // what follows the end blocks (gzip padding by some tools) is ignored
      if (this.current) {
        const take = Math.min(this.current.left, data.length);
        const part = data.subarray(0, take);
        this.current.hash.update(part);
        this.current.left -= take;
        data = data.subarray(take);
        if (this.writeError) throw this.writeError;
        if (!this.current.out.write(part)) {
          const out = this.current.out;
          await new Promise<void>((resolve) => {
            const done = () => {
              out.off('drain', done);
              out.off('error', done);
              resolve();
            };
            out.on('drain', done);
            out.on('error', done);
          });
        }
        if (this.writeError) throw this.writeError;
        if (this.current.left === 0) await this.closeMember();
        continue;
      }
      if (this.skip > 0) {
        const take = Math.min(this.skip, data.length);
        this.skip -= take;
        data = data.subarray(take);
        continue;
      }
      if (data.length < BLOCK) {
        this.pending = Buffer.from(data);
        return;
      }
      const header = data.subarray(0, BLOCK);
      data = data.subarray(BLOCK);
      if (header.every((b) => b === 0)) {
        if (++this.zeroBlocks === 2) this.ended = true;
        continue;
      }
      if (this.zeroBlocks > 0) throw new ArchiveError('not-tar', 'a member after an end block');
      const opened = this.openMember(header);
      if (opened.left === 0) await this.closeMember();
    }
  }

  private openMember(header: Buffer): { left: number } {
    if (!headerChecksumOk(header) || header.toString('ascii', 257, 262) !== 'ustar') throw new ArchiveError('not-tar', 'not a tar archive (bad header)');
    const type = String.fromCharCode(header[156]!);
    const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
    const prefix = header.toString('utf8', 345, 500).replace(/\0.*$/s, '');
    const size = parseOctal(header.subarray(124, 136));
    if (size === null) throw new ArchiveError('not-tar', 'not a tar archive (bad size)');
    if ((type !== '0' && type !== '\0') || prefix !== '' || !this.limits.allowed.has(name) || this.members.some((m) => m.name === name)) {
      throw new ArchiveError('unexpected-member', `unexpected member in the archive: ${JSON.stringify((prefix ? `${prefix}/` : '') + name).slice(0, 120)}`);
    }
    this.total += size;
    if (this.total > this.limits.maxTotalBytes) throw new ArchiveError('too-large', 'the archive unpacks to more than the limit');
    const path = join(this.dir, name);
    const out = createWriteStream(path, { flags: 'wx' });
    // A write error (a full disk) is taken up by write's callback and closeMember; a destroyed one is dropped with the archive.
    out.on('error', (err) => (this.writeError ??= err));
    this.current = { name, size, left: size, hash: createHash('sha256'), out, path };
    this.skip = (BLOCK - (size % BLOCK)) % BLOCK;
    return this.current;
  }

  private async closeMember(): Promise<void> {
    const member = this.current!;
    this.current = null;
    await new Promise<void>((resolve, reject) => {
      if (this.writeError) return reject(this.writeError);
      member.out.once('error', reject);
      member.out.end(() => resolve());
    });
    if (this.writeError) throw this.writeError;
    this.members.push({ name: member.name, path: member.path, size: member.size, sha256: member.hash.digest('hex') });
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.current?.out.destroy();
    callback(err);
  }
}

/** The stream being unpacked failed or ended early by itself (an upload cut off), not the archive. */
export class SourceFailedError extends Error {
  constructor(override readonly cause: unknown) {
    super(`the upload ended early: ${String(cause)}`);
    this.name = 'SourceFailedError';
  }
}

/**
 * Unpacks a .tar.gz stream into `dir` (which must exist and be empty).
 * Rejects with an ArchiveError for a file that is not what a backup is, and
 * with the source's own error when the source fails (an upload cut off).
 */
export async function extractTarGz(source: Readable, dir: string, limits: ExtractLimits): Promise<ExtractedMember[]> {
  const gunzip = createGunzip();
  const extractor = new TarExtractor(dir, limits);
  let compressed = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      compressed += chunk.length;
      if (compressed > limits.maxCompressedBytes) callback(new ArchiveError('too-large', 'the file is larger than the limit'));
      else callback(null, chunk);
    },
  });
  // The source is fed by hand rather than put in the pipeline: a refused archive
  // must not destroy it (an HTTP request whose socket would close before the
  // refusal is answered). What is left of it is the caller's to drain or close.
  let sourceFailed: unknown = null;
  const failSource = (err: unknown) => {
    if (sourceFailed) return;
    sourceFailed = err;
    limiter.destroy(new SourceFailedError(err));
  };
  const onError = (err: unknown) => failSource(err);
  const onClose = () => {
    if (!source.readableEnded) failSource(new Error('the stream closed before its end'));
  };
  source.on('error', onError);
  source.on('close', onClose);
  source.pipe(limiter);
  try {
    await pipeline(limiter, gunzip, extractor);
  } catch (err) {
    source.unpipe(limiter);
    if (sourceFailed || err instanceof SourceFailedError) throw err instanceof SourceFailedError ? err : new SourceFailedError(sourceFailed);
    if (err instanceof ArchiveError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(String(err))) throw new ArchiveError('truncated', 'the file ends too early (was the download complete?)');
    if (/incorrect header check/i.test(String(err))) throw new ArchiveError('not-gzip', 'not a gzip file');
    if (code === 'Z_DATA_ERROR' || code === 'Z_STREAM_ERROR') throw new ArchiveError('corrupt', `the compressed data is damaged (${String((err as Error).message)})`);
    throw err;
  } finally {
    source.off('error', onError);
    source.off('close', onClose);
  }
  return extractor.members;
}
