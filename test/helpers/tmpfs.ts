import test, { type TestFn } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { underCi } from './tools.js';

/** Whether this machine lets us mount a small tmpfs (root): how the full-disk tests fill a real file system. */
function canMountTmpfs(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmdirSync(dir);
  }
}

/**
 * `test.serial` where a tmpfs can be mounted, and under CI even where it cannot
 * (so that the missing permission fails there); skipped elsewhere, with a line saying why.
 */
export function tmpfsTest(name: string): { fullDiskTest: TestFn['serial'] | TestFn['skip']; mountable: boolean } {
  const mountable = canMountTmpfs();
  if (!mountable) console.log(`${name}: cannot mount a tmpfs here (needs root)${underCi() ? '; CI is set, so it fails' : ', skipped'}`);
  return { fullDiskTest: mountable || underCi() ? test.serial : test.skip, mountable };
}
