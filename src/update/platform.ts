import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';
import type { Config } from '../config/config.js';
import { loadPublicKey, verifyBundle } from './bundle.js';
import { versionOfSlot, type ApplyPlatform } from './apply.js';

/**
 * The appliance's side of ApplyPlatform: systemctl for the service, GNU tar for
 * the payload, HTTP on loopback for the health check.
 */

export const UPDATE_KEY_FILE = '/usr/share/smsbox/update-key.pub';
export const SERVICE = 'smsbox.service';

/** Modem states that mean the driver has not started (or has stopped). */
const DRIVER_NOT_STARTED = new Set(['queue-only', 'off', 'starting']);

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}`))));
  });
}

/** PRAGMA user_version of the box's database; 0 when there is none yet. */
export function schemaOfDatabase(dataDir: string): number {
  const file = join(dataDir, 'smsbox.db');
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

export async function unpackPayload(bundle: string, payloadOffset: number, into: string): Promise<void> {
  const tar = spawn('tar', ['-xzf', '-', '-C', into, '--no-same-owner'], { stdio: ['pipe', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
  });
  await Promise.all([pipeline(createReadStream(bundle, { start: payloadOffset }), tar.stdin), exited]);
}

export interface HealthProbeOptions {
  port: number;
  /** An account of the config file for smsAU; null: any WDGJ answer (0 or 1) counts. */
  account: { user: string; password: string } | null;
  pollMs?: number;
  now?: () => number;
}

/** One look at the app on loopback: its version, its smsAU answer, its modem driver. */
export async function probeHealth(options: HealthProbeOptions, version: string | null): Promise<{ healthy: boolean; detail: string }> {
  const base = `http://127.0.0.1:${options.port}`;
  try {
    const status = await fetch(`${base}/api/status`, { signal: AbortSignal.timeout(5000) });
    const snapshot = (await status.json()) as { version?: string; modem?: { state?: string } };
    if (version !== null && snapshot.version !== version) return { healthy: false, detail: `version ${snapshot.version ?? '?'} answers, waiting for ${version}` };
    const user = options.account?.user ?? 'smsbox-update-check';
    const password = options.account?.password ?? 'x';
    const answer = (await (await fetch(`${base}/sms?Msg=smsAU&User=${encodeURIComponent(user)}&PWD=${encodeURIComponent(password)}`, { signal: AbortSignal.timeout(5000) })).text()).trim();
    const expected = options.account ? ['1'] : ['0', '1'];
    if (!expected.includes(answer)) return { healthy: false, detail: `smsAU answered ${JSON.stringify(answer.slice(0, 20))}` };
    const state = snapshot.modem?.state ?? 'unknown';
    if (DRIVER_NOT_STARTED.has(state)) return { healthy: false, detail: `modem driver ${state}` };
    return { healthy: true, detail: `smsAU ${answer}, modem ${state}` };
  } catch (err) {
    return { healthy: false, detail: `no answer (${(err as Error).message})` };
  }
}

/** Restarts of smsbox.service by systemd (Restart=on-failure) after which the version on trial is judged failed. */
export const CRASHES_BEFORE_ROLLBACK = 3;

/** systemd's count of automatic restarts of smsbox.service; 0 when it cannot be read. */
function serviceRestarts(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('systemctl', ['show', '--property=NRestarts', '--value', SERVICE], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', () => resolve(0));
    child.once('exit', () => resolve(Number(out.trim()) || 0));
  });
}

export function systemPlatform(options: { config: Config; keyFile?: string; dataDir: string; log: (line: string) => void }): ApplyPlatform {
  const account = options.config.accounts[0] ?? null;
  const probe: HealthProbeOptions = { port: options.config.http.port, account: account ? { user: account.user, password: account.password } : null };
  return {
    async verify(bundle) {
      const key = loadPublicKey(readFileSync(options.keyFile ?? UPDATE_KEY_FILE));
      return verifyBundle(bundle, key, { arch: process.arch, nodeAbi: process.versions.modules, schema: schemaOfDatabase(options.dataDir) });
    },
    unpack: unpackPayload,
    stopApp: () => run('systemctl', ['stop', SERVICE]),
    // --no-block: smsbox.service is Type=notify, so a plain start would wait for
    // READY=1 and fail outright on a version that crashes at start; the health
    // watch below judges the new version instead (and counts systemd's restarts).
    startApp: () => run('systemctl', ['start', '--no-block', SERVICE]),
    async waitHealthy(version, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      // A version that dies at start is restarted by systemd every 5 s: after
      // a few such restarts waiting longer cannot help.
      const restartsAtStart = await serviceRestarts();
      let last = '';
      for (;;) {
        const { healthy, detail } = await probeHealth(probe, version);
        if (healthy) {
          options.log(`health: ${detail}`);
          return true;
        }
        if (detail !== last) options.log(`health: ${detail}`);
        last = detail;
        const restarts = (await serviceRestarts()) - restartsAtStart;
        if (restarts >= CRASHES_BEFORE_ROLLBACK) {
          options.log(`health: ${SERVICE} died at start ${restarts} times`);
          return false;
        }
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, Math.max(0, deadline - Date.now()))));
      }
    },
    versionOf: versionOfSlot,
    now: () => Date.now(),
    log: options.log,
  };
}
