/** Shared by the reliability suite: the box as its own process, its logs kept for the secret grep. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { watchOutput } from '../helpers/process-events.js';

export const CLI = join(packageRoot, 'dist/src/cli.js');

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A pause that paces a load (a client between two requests, a random moment for a fault): never a wait for something to happen. */
export const pace = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown by an `until` probe when what it waits for can no longer happen: ends the wait at once. */
export class GiveUp extends Error {}

/** Polls `probe` (a state that has no event of its own, e.g. a queue drained across restarts) until it is truthy or the deadline. */
export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pace(everyMs);
  }
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BoxConfigOptions {
  port: number;
  dir: string;
  device?: string;
  user?: string;
  password?: string;
  adminPassword?: string;
  extra?: string[];
}

/** Writes a TOML config for `smsbox serve`; returns its path. */
export function writeBoxConfig(o: BoxConfigOptions): string {
  const file = join(o.dir, 'smsbox.toml');
  writeFileSync(
    file,
    [
      `[http]\nport = ${o.port}\nhost = "127.0.0.1"`,
      `[[account]]\nuser = "${o.user ?? 'aaaa'}"\npassword = "${o.password ?? 'bbbb'}"`,
      ...(o.adminPassword ? [`[admin]\npassword = "${o.adminPassword}"`] : []),
      `[schedule]\nquiet_hours = ""\nmax_per_hour = 0\nmax_per_day = 0\nclock = "system"`,
      `[modem]\ndevice = "${o.device ?? 'simulator'}"\nhat = "sim7600"`,
      // No balance SMS of the box's own (issue 17) among the messages these suites count.
      `[sim]\ncheck_balance = false`,
      `[storage]\ndata_dir = "${join(o.dir, 'data')}"`,
      ...(o.extra ?? []),
    ].join('\n') + '\n',
  );
  return file;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Every line any box process of this suite wrote (stdout and stderr), for the secret grep. */
export const processLogs: string[] = [];

export interface BoxProcess {
  child: ChildProcess;
  base: string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `smsbox serve --config FILE` (in `env`, by default this process's) and resolves once it listens (its log says so) and answers smsAU. */
export async function spawnBox(configFile: string, port: number, auth = 'User=aaaa&PWD=bbbb', timeoutMs = 30_000, env: NodeJS.ProcessEnv = process.env): Promise<BoxProcess> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const output = watchOutput(child);
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = '';
    stream.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      processLogs.push(...lines);
    });
    stream.on('end', () => partial && processLogs.push(partial));
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  await Promise.race([
    output.waitFor(/smsbox listening/, 'the box to listen', timeoutMs),
    exited.then((code) => {
      throw new GiveUp(`the box exited (${code ?? child.signalCode}) before it listened`);
    }),
  ]);
  const answer = await (await fetch(`${base}/sms?Msg=smsAU&${auth}`, { signal: AbortSignal.timeout(5000) })).text();
  if (answer !== '1') throw new Error(`smsAU answered ${JSON.stringify(answer)} once the box listened`);
  return {
    child,
    base,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export function basicAuth(password: string, user = 'admin'): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export interface OutboxMessage {
  id: number;
  to: string;
  body: string;
  status: string;
}

/** The whole outbox through the admin API, newest first, paged. */
export async function allMessages(base: string, adminPassword = 'smsbox'): Promise<OutboxMessage[]> {
  const out: OutboxMessage[] = [];
  let before = '';
  for (;;) {
    const res = await fetch(`${base}/api/messages?limit=1000${before}`, { headers: basicAuth(adminPassword) });
    const page = ((await res.json()) as { messages: OutboxMessage[] }).messages;
    out.push(...page);
    if (page.length < 1000) return out;
    before = `&before_id=${page[page.length - 1]!.id}`;
  }
}

/** Lines containing any of the secrets (raw, percent-encoded or base64 as in a Basic header). */
export function linesLeaking(lines: readonly string[], secrets: readonly string[]): string[] {
  const needles = secrets.flatMap((s) => [s, encodeURIComponent(s)]);
  return lines.filter((line) => needles.some((needle) => line.includes(needle)));
}
