import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding package.json (and hardware/): works from src/ and from dist/src/. */
export const packageRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

export const version: string = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** The git commit the app was built from: `.commit` beside package.json (image and update bundles write it); null in a checkout. */
export const commit: string | null = (() => {
  try {
    const text = readFileSync(join(packageRoot, '.commit'), 'utf8').trim();
    return /^[0-9a-f]{7,40}$/.test(text) ? text : null;
  } catch {
    return null;
  }
})();

/** The version shown to people and in /api/status: package.json's version, plus the commit when known ("0.1.0+b551dc1"). */
export const displayedVersion: string = commit ? `${version}+${commit.slice(0, 7)}` : version;
