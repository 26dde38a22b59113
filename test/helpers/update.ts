import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBundle, type Manifest } from '../../src/update/bundle.js';
import { MIGRATIONS } from '../../src/store/migrations.js';

/** A throwaway release key pair (tests never use the real one). */
export function testKeys(): { privateKey: KeyObject; publicKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A small app as a bundle carries it: package.json, .commit and dist/src/cli.js, as a tar.gz made by GNU tar. */
export function makePayload(dir: string, version: string, commit = 'c0ffee1c0ffee1c0ffee1c0ffee1c0ffee1c0ffe'): string {
  const app = join(dir, `app-${version}`);
  mkdirSync(join(app, 'dist', 'src'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'smsbox', version }));
  writeFileSync(join(app, '.commit'), `${commit}\n`);
  writeFileSync(join(app, 'dist', 'src', 'cli.js'), `console.log(${JSON.stringify(version)});\n`);
  const payload = join(dir, `payload-${version}.tar.gz`);
  execFileSync('tar', ['-czf', payload, '-C', app, '.']);
  return payload;
}

export async function makeBundle(dir: string, privateKey: KeyObject, over: Partial<Manifest> & { version?: string } = {}): Promise<{ file: string; manifest: Manifest }> {
  const version = over.version ?? '9.9.9';
  const commit = over.commit ?? 'c0ffee1c0ffee1c0ffee1c0ffee1c0ffee1c0ffe';
  const payload = makePayload(dir, version, commit);
  const file = join(dir, `smsbox-${version}-${Math.random().toString(36).slice(2)}.smsbox-update`);
  const manifest = await writeBundle(file, payload, {
    version,
    commit,
    created_at: '2026-12-02T09:00:00.000Z',
    platform: over.platform ?? 'linux',
    arch: over.arch ?? process.arch,
    node_abi: over.node_abi ?? process.versions.modules,
    schema: over.schema ?? MIGRATIONS.length,
  }, privateKey);
  return { file, manifest };
}
