/**
 * Runs `simulate-modem` (the compiled entry point) as a child process for pty
 * and gammu tests. Every wait ends on the process's output (or its exit), with
 * a generous deadline that only fails the test.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEADLINE_MS } from '../helpers/wait.js';

export const MAIN = fileURLToPath(new URL('../../hardware/simulator/main.js', import.meta.url));

export interface SimulatorProcess {
  child: ChildProcessWithoutNullStreams;
  link: string;
  dir: string;
  /** JSON lines printed on stdout so far. */
  transmitted: unknown[];
  stderr(): string;
  send(command: unknown): void;
  /** Sends a control line and resolves once the simulator confirms it took effect. */
  control(command: unknown): Promise<void>;
  /** Resolves once stderr matches `pattern`. */
  waitForStderr(pattern: RegExp, what: string): Promise<void>;
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
  let hasExited = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      hasExited = true;
      linkLeft = linkExists(link);
      rmSync(dir, { recursive: true, force: true });
      resolve(code);
      notify();
    }),
  );
  /** Resolves when `ready()` holds, checked after each output of the process; fails if it exits first or at the deadline. */
  const waitFor = async (ready: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (hasExited) throw new Error(`${what} did not happen: the simulator exited; stderr: ${stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what} did not happen within ${timeoutMs} ms; stderr: ${stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;
  await waitFor(() => stderr.includes(`${link} -> `), 'simulator start');
  return {
    child,
    link,
    dir,
    transmitted,
    stderr: () => stderr,
    send(command) {
      child.stdin.write(`${JSON.stringify(command)}\n`);
    },
    async control(command) {
      const line = JSON.stringify(command);
      const ack = `simulate-modem: done: ${line}\n`;
      const before = occurrences(stderr, ack);
      child.stdin.write(`${line}\n`);
      await waitFor(() => occurrences(stderr, ack) > before, `the simulator to apply ${line}`);
    },
    async waitForStderr(pattern, what) {
      await waitFor(() => pattern.test(stderr), what);
    },
    async waitForTransmitted(count, timeoutMs = DEADLINE_MS) {
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
