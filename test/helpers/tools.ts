/**
 * Tests that need a program from Debian (socat, gammu, chromium, dtc…).
 *
 * Where one is missing, such a test is skipped with a title that says what to
 * install: a developer's machine without gammu still runs everything else.
 * Under CI (the environment variable CI set, as .ci/run and every CI service
 * do) a missing program fails the test instead: CI installs them all (README's
 * test command), so a missing one means these tests did not run, and a
 * summary line that counts them as passed would not be true.
 */
import test, { type ImplementationFn } from 'ava';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** A program some tests need, and the Debian package that has it. */
export interface Tool {
  name: string;
  /** Debian package that installs it. */
  apt: string;
  /** An absolute path the tests use; otherwise the name is looked up on PATH. */
  path?: string;
}

export const SOCAT: Tool = { name: 'socat', apt: 'socat' };
export const GAMMU: Tool = { name: 'gammu', apt: 'gammu' };
export const CHROMIUM: Tool = { name: 'chromium', apt: 'chromium', path: '/usr/bin/chromium' };
export const DTC: Tool = { name: 'dtc', apt: 'device-tree-compiler' };
export const FDTOVERLAY: Tool = { name: 'fdtoverlay', apt: 'device-tree-compiler' };
export const FDTGET: Tool = { name: 'fdtget', apt: 'device-tree-compiler' };
/** What the box runs to talk to systemd (src/system/systemd.ts). */
export const SYSTEMD_NOTIFY: Tool = { name: 'systemd-notify', apt: 'systemd' };
/** Stands in for PID 1's notify socket (Node has no unix datagram sockets). */
export const PYTHON3: Tool = { name: 'python3', apt: 'python3' };

/** True under CI: the environment variable CI is set (to anything but "", "0" or "false"). */
export function underCi(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && !['', '0', 'false'].includes(ci.toLowerCase());
}

const found = new Map<string, boolean>();

export function hasTool(tool: Tool): boolean {
  const key = tool.path ?? tool.name;
  let present = found.get(key);
  if (present === undefined) {
    if (tool.path) {
      try {
        accessSync(tool.path, constants.X_OK);
        present = true;
      } catch {
        present = false;
      }
    } else {
      present = spawnSync('sh', ['-c', 'command -v "$0"', tool.name], { stdio: 'ignore' }).status === 0;
    }
    found.set(key, present);
  }
  return present;
}

/** The tools of `tools` that are missing here. */
export function missingTools(tools: readonly Tool[]): Tool[] {
  return tools.filter((tool) => !hasTool(tool));
}

/** What to say about missing tools: which, and the command that installs them. */
export function describeMissing(missing: readonly Tool[]): string {
  const names = missing.map((tool) => tool.name).join(', ');
  const packages = [...new Set(missing.map((tool) => tool.apt))].join(' ');
  return `${names} not installed (apt-get install -y ${packages})`;
}

type Declare = (title: string, implementation: ImplementationFn<[], unknown>) => void;

/**
 * `test` (or `test.serial` with `{ serial: true }`) for tests that need
 * `tools`: the real test where they are all present; where one is missing, a
 * skipped test whose title says what to install, or under CI a failing one.
 */
export function testWithTools(tools: readonly Tool[], options: { serial?: boolean } = {}): Declare {
  const base = options.serial ? test.serial : test;
  const missing = missingTools(tools);
  if (missing.length === 0) return (title, implementation) => base(title, implementation);
  const why = describeMissing(missing);
  if (underCi()) {
    return (title) =>
      base(title, (t) => {
        t.fail(`${why}: CI must run this test (CI is set)`);
      });
  }
  return (title, implementation) => base.skip(`${title} [skipped: ${why}]`, implementation);
}
