/**
 * Waits on a box (or any program) running as its own process: on what it
 * prints, and on the live status it streams (/api/status/stream). Each wait
 * ends on the expected line or status event; its deadline only fails the test.
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { DEADLINE_MS } from './wait.js';

export interface OutputWatcher {
  /** Everything printed so far. */
  text(): string;
  /** Resolves once the output (stdout and stderr together) matches `pattern`; fails if the process exits first. */
  waitFor(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Collects a child process's stdout and stderr (those that are pipes). */
export function watchOutput(child: ChildProcess): OutputWatcher {
  let text = '';
  let exited = child.exitCode !== null || child.signalCode !== null;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      text += chunk;
      notify();
    });
  }
  child.once('exit', () => {
    exited = true;
    notify();
  });
  return {
    text: () => text,
    waitFor(pattern, what, timeoutMs = DEADLINE_MS) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = text.match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (exited) {
            done();
            reject(new Error(`${what}: the process exited first (${child.exitCode ?? child.signalCode}); its output ends with ${JSON.stringify(text.slice(-2000))}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${what}: not within ${timeoutMs} ms; output ends with ${JSON.stringify(text.slice(-2000))}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * Resolves with `accept(status)`'s value for the first status the box streams
 * (GET /api/status/stream, one event per change) that it accepts. Rejects if
 * the stream ends or fails first (the box went away), or at the deadline.
 */
export function waitForStatus<T>(base: string, accept: (status: any) => T, what: string, timeoutMs = DEADLINE_MS): Promise<NonNullable<T>> {
  return new Promise((resolve, reject) => {
    let last: unknown = null;
    let finished = false;
    const finish = (outcome: () => void): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      request.destroy();
      outcome();
    };
    const timer = setTimeout(() => finish(() => reject(new Error(`${what}: not within ${timeoutMs} ms; last status ${JSON.stringify(last)}`))), timeoutMs);
    const request = http.get(`${base}/api/status/stream`, (res) => {
      if (res.statusCode !== 200) {
        finish(() => reject(new Error(`${what}: /api/status/stream answered ${res.statusCode}`)));
        return;
      }
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          if (!lines.includes('event: status')) continue;
          const data = lines.find((line) => line.startsWith('data: '));
          if (!data) continue;
          const status = (JSON.parse(data.slice('data: '.length)) as { status: unknown }).status;
          last = status;
          let value: T;
          try {
            value = accept(status);
          } catch (error) {
            finish(() => reject(error));
            return;
          }
          if (value) finish(() => resolve(value as NonNullable<T>));
        }
      });
      res.on('end', () => finish(() => reject(new Error(`${what}: the status stream ended first; last status ${JSON.stringify(last)}`))));
    });
    request.on('error', (error) => finish(() => reject(new Error(`${what}: ${error.message}`))));
  });
}
