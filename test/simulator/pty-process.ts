/** Runs `simulate-modem` (the compiled entry point) as a child process for pty and gammu tests. */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../hardware/simulator/main.js', import.meta.url));

export const hasBinary = (name: string, versionFlag = '--version'): boolean => spawnSync(name, [versionFlag], { stdio: 'ignore' }).error === undefined;

export interface SimulatorProcess {
  child: ChildProcessWithoutNullStreams;
  link: string;
  dir: string;
  /** JSON lines printed on stdout so far. */
  transmitted: unknown[];
  stderr(): string;
  send(command: unknown): void;
  /** Waits until `count` SMS have been printed. */
  waitForTransmitted(count: number, timeoutMs?: number): Promise<unknown[]>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
  /** Whether the link (even dangling) was still there when the process exited. */
  linkLeftOnExit(): boolean | undefined;
}

/** True when PATH exists as anything, a dangling symlink included. */
export function linkExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export async function startSimulator(extraArgs: string[] = []): Promise<SimulatorProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-sim-'));
  const link = join(dir, 'ttyV0');
  const child = spawn(process.execPath, [MAIN, '--link', link, ...extraArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
  const transmitted: unknown[] = [];
  let linkLeft: boolean | undefined;
  let stdoutBuffer = '';
  let stderr = '';
  const listeners: (() => void)[] = [];
  const notify = (): void => {
    for (const listener of listeners.splice(0)) listener();
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    stdoutBuffer += text;
    let newline;
    while ((newline = stdoutBuffer.indexOf('\n')) >= 0) {
      transmitted.push(JSON.parse(stdoutBuffer.slice(0, newline)));
      stdoutBuffer = stdoutBuffer.slice(newline + 1);
    }
    notify();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr += text;
    notify();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      linkLeft = linkExists(link);
      rmSync(dir, { recursive: true, force: true });
      resolve(code);
    }),
  );
  const waitFor = async (ready: () => boolean, what: string, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what} did not happen; stderr: ${stderr}`);
      await new Promise<void>((resolve) => {
        listeners.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  await waitFor(() => stderr.includes(`${link} -> `), 'simulator start', 10_000);
  return {
    child,
    link,
    dir,
    transmitted,
    stderr: () => stderr,
    send(command) {
      child.stdin.write(`${JSON.stringify(command)}\n`);
    },
    async waitForTransmitted(count, timeoutMs = 10_000) {
      await waitFor(() => transmitted.length >= count, `${count} transmitted SMS`, timeoutMs);
      return transmitted.slice(0, count);
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
    exited,
    linkLeftOnExit: () => linkLeft,
  };
}
