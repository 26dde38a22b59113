import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream, openSync, readSync, closeSync, fstatSync, writeFileSync, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { done, refuse, type Outcome } from '../operations/outcome.js';

/**
 * The update bundle: one file an owner uploads on the settings page.
 *
 *   bytes 0..7     magic "SMSBUPD1"
 *   bytes 8..11    manifest length N (uint32, big-endian; at most MAX_MANIFEST)
 *   bytes 12..75   ed25519 signature of SIGNING_CONTEXT + the manifest bytes
 *   bytes 76..76+N the manifest (JSON, UTF-8)
 *   the rest       the payload: a tar.gz of the app (dist, hardware, package.json,
 *                  the lock file, node_modules for the bundle's architecture)
 *
 * The signature covers the manifest, and the manifest names the payload's size
 * and sha256: one signature check and one hash prove the whole file. The
 * manifest is read before anything is unpacked, so a wrong architecture or a
 * bundle older than the database is refused without touching the disk.
 */

export const MAGIC = Buffer.from('SMSBUPD1', 'latin1');
export const HEADER_BYTES = MAGIC.length + 4 + 64;
export const MAX_MANIFEST = 64 * 1024;
/** Signed before the manifest, so a signature made by the same key for something else never passes as an update. */
export const SIGNING_CONTEXT = Buffer.from('smsbox-update-bundle-v1\0', 'latin1');

export interface Manifest {
  format: 1;
  name: 'smsbox';
  /** package.json version. */
  version: string;
  /** The git commit the app was built from (full hash), or "unknown". */
  commit: string;
  created_at: string;
  platform: string;
  /** process.arch of the machine the bundle is for ("arm64" for the Pi image). */
  arch: string;
  /** process.versions.modules of the Node.js the native addons were built for. */
  node_abi: string;
  /** The database schema version this app migrates to: a box whose database is newer refuses the bundle. */
  schema: number;
  payload_size: number;
  payload_sha256: string;
}

/** "0.1.0+b551dc1": the version an owner reads on the overview. */
export function displayVersion(version: string, commit: string | null): string {
  return commit && /^[0-9a-f]{7,40}$/.test(commit) ? `${version}+${commit.slice(0, 7)}` : version;
}

export function loadPrivateKey(pem: string | Buffer): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the update signing key must be ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

export function loadPublicKey(pem: string | Buffer): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`the update key must be ed25519, not ${key.asymmetricKeyType}`);
  return key;
}

async function sha256OfRange(file: string, start: number): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { start })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Writes a signed bundle from a payload file (tar.gz) and the manifest's
 * fields; the payload's size and hash are computed here.
 */
export async function writeBundle(out: string, payload: string, fields: Omit<Manifest, 'format' | 'name' | 'payload_size' | 'payload_sha256'>, privateKey: KeyObject): Promise<Manifest> {
  const { sha256, size } = await sha256OfRange(payload, 0);
  const manifest: Manifest = { format: 1, name: 'smsbox', ...fields, payload_size: size, payload_sha256: sha256 };
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 1), 'utf8');
  const signature = sign(null, Buffer.concat([SIGNING_CONTEXT, manifestBytes]), privateKey);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(manifestBytes.length);
  writeFileSync(out, Buffer.concat([MAGIC, length, signature, manifestBytes]));
  await pipeline(createReadStream(payload), createWriteStream(out, { flags: 'a' }));
  return manifest;
}

export type BundleRefusalCode = 'update-not-a-bundle' | 'update-bad-signature' | 'update-damaged' | 'update-wrong-arch' | 'update-older-than-data';

export interface BundleExpectations {
  /** The box's process.arch. */
  arch: string;
  /** The box's process.versions.modules (the native addons must load). */
  nodeAbi: string;
  /** The schema version of the box's database: a bundle that cannot open it is refused. */
  schema: number;
}

export interface VerifiedBundle {
  manifest: Manifest;
  /** Where the payload starts in the file. */
  payloadOffset: number;
}

const TRY_AGAIN_ZH = '请从发布页面重新下载更新文件（.smsbox-update）后再上传；本机没有任何改动。';
const TRY_AGAIN_EN = 'Download the update file (.smsbox-update) again from the release page and upload it again; nothing on the box was changed.';

function readHeader(file: string): Outcome<{ signature: Buffer; manifestBytes: Buffer; fileSize: number }, BundleRefusalCode> {
  const fd = openSync(file, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const head = Buffer.alloc(HEADER_BYTES);
    const got = readSync(fd, head, 0, HEADER_BYTES, 0);
    if (got < HEADER_BYTES || !head.subarray(0, MAGIC.length).equals(MAGIC)) {
      return refuse('update-not-a-bundle', `这不是 smsbox 更新文件。${TRY_AGAIN_ZH}`, `This is not an smsbox update file. ${TRY_AGAIN_EN}`, 400);
    }
    const length = head.readUInt32BE(MAGIC.length);
    if (length === 0 || length > MAX_MANIFEST || HEADER_BYTES + length > fileSize) {
      return refuse('update-damaged', `更新文件已损坏（不完整）。${TRY_AGAIN_ZH}`, `The update file is damaged (incomplete). ${TRY_AGAIN_EN}`, 400);
    }
    const manifestBytes = Buffer.alloc(length);
    readSync(fd, manifestBytes, 0, length, HEADER_BYTES);
    return done({ signature: head.subarray(MAGIC.length + 4), manifestBytes, fileSize });
  } finally {
    closeSync(fd);
  }
}

function isManifest(value: unknown): value is Manifest {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return m['format'] === 1 && m['name'] === 'smsbox' && typeof m['version'] === 'string' && typeof m['commit'] === 'string'
    && typeof m['created_at'] === 'string' && typeof m['platform'] === 'string' && typeof m['arch'] === 'string'
    && typeof m['node_abi'] === 'string' && Number.isInteger(m['schema']) && Number.isInteger(m['payload_size'])
    && typeof m['payload_sha256'] === 'string' && /^[0-9a-f]{64}$/.test(m['payload_sha256']);
}

/**
 * Checks a bundle file completely: signature by `publicKey`, payload size and
 * sha256, and that it fits this box. Reads the file once; writes nothing.
 */
export async function verifyBundle(file: string, publicKey: KeyObject, expect: BundleExpectations): Promise<Outcome<VerifiedBundle, BundleRefusalCode>> {
  const header = readHeader(file);
  if (!header.ok) return header;
  const { signature, manifestBytes, fileSize } = header.value;
  if (!verify(null, Buffer.concat([SIGNING_CONTEXT, manifestBytes]), publicKey, signature)) {
    return refuse('update-bad-signature',
      '更新文件的签名不对：它不是 smsbox 官方发布的，或者已被改动。请只使用官方发布的更新文件；本机没有任何改动。',
      'The update file\'s signature does not match: it was not released by smsbox, or it was altered. Use only official update files; nothing on the box was changed.', 400);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifestBytes.toString('utf8'));
  } catch {
    parsed = null;
  }
  // A signed manifest we cannot read is from a format this software does not know.
  if (!isManifest(parsed)) {
    return refuse('update-not-a-bundle', `这个更新文件的格式本机不认识，请先安装中间版本。${TRY_AGAIN_ZH}`, `This box does not know the update file's format; install an intermediate release first. ${TRY_AGAIN_EN}`, 400);
  }
  const manifest = parsed;
  if (manifest.platform !== 'linux' || manifest.arch !== expect.arch) {
    return refuse('update-wrong-arch',
      `这个更新文件是给 ${manifest.platform}/${manifest.arch} 的，本机是 linux/${expect.arch}。请下载适合树莓派（arm64）的更新文件；本机没有任何改动。`,
      `This update file is for ${manifest.platform}/${manifest.arch}; this box is linux/${expect.arch}. Download the update file for the Raspberry Pi (arm64); nothing on the box was changed.`, 400);
  }
  if (manifest.node_abi !== expect.nodeAbi) {
    return refuse('update-wrong-arch',
      `这个更新文件需要另一个版本的 Node.js（ABI ${manifest.node_abi}，本机 ${expect.nodeAbi}），只能通过刷写新的 SD 卡镜像安装；本机没有任何改动。`,
      `This update needs another Node.js (ABI ${manifest.node_abi}, the box has ${expect.nodeAbi}); it can only be installed by flashing a new SD-card image. Nothing on the box was changed.`, 400);
  }
  if (manifest.schema < expect.schema) {
    return refuse('update-older-than-data',
      `这个更新（${manifest.version}）比本机的数据旧（数据库版本 ${expect.schema}，它只认识到 ${manifest.schema}），装上后无法打开数据。请使用更新的版本；本机没有任何改动。`,
      `This update (${manifest.version}) is older than the box's data (database schema ${expect.schema}; it knows up to ${manifest.schema}) and could not open it. Use a newer release; nothing on the box was changed.`, 409);
  }
  const payloadOffset = HEADER_BYTES + manifestBytes.length;
  const damaged = () => refuse('update-damaged', `更新文件已损坏（校验和不符）。${TRY_AGAIN_ZH}`, `The update file is damaged (checksum mismatch). ${TRY_AGAIN_EN}`, 400);
  if (fileSize - payloadOffset !== manifest.payload_size) return damaged();
  const { sha256 } = await sha256OfRange(file, payloadOffset);
  if (sha256 !== manifest.payload_sha256) return damaged();
  return done({ manifest, payloadOffset });
}
