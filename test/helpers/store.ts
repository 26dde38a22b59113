import { rmSync } from 'node:fs';
import { Store } from '../../src/store/store.js';
import { tempDir } from './box.js';

/** Runs `run` against a fresh store in a temporary folder, then closes it and deletes the folder. */
export function withStore(run: (store: Store, dir: string) => void): void {
  const dir = tempDir();
  const store = Store.open(dir);
  try {
    run(store, dir);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
