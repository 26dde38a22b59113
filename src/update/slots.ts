import { fsyncPath } from '../durable.js';
import { existsSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The app's two slots on the appliance: /opt/smsbox/a and /opt/smsbox/b, and
 * /opt/smsbox/current, a symlink naming the one smsbox.service runs. An update
 * fills the other slot and moves the link; a rollback moves it back.
 */

export type SlotName = 'a' | 'b';
export const SLOTS_ROOT = '/opt/smsbox';
export const CURRENT_LINK = 'current';
/**
 * The slot last proven to work: smsbox-update.service runs the update code
 * from here, so that a resumed update (after a power cut) is driven by a
 * version that ran, never by the new one whose start is in doubt.
 */
export const GOOD_LINK = 'good';

export function otherSlot(slot: SlotName): SlotName {
  return slot === 'a' ? 'b' : 'a';
}

/** The slot `current` points to; null when there is no such link (not an appliance). */
export function currentSlot(root: string): SlotName | null {
  try {
    const target = basename(readlinkSync(join(root, CURRENT_LINK)));
    return target === 'a' || target === 'b' ? target : null;
  } catch {
    return null;
  }
}

/** The slot this code runs from, when it runs from one (the app's folder is /opt/smsbox/a or b). */
export function slotOfPackage(packageRoot: string, root = SLOTS_ROOT): SlotName | null {
  try {
    const real = realpathSync(packageRoot);
    if (realpathSync(dirname(real)) !== realpathSync(root)) return null;
    const name = basename(real);
    return name === 'a' || name === 'b' ? name : null;
  } catch {
    return null;
  }
}


/** Points `current` (or `link`) at `slot` in one rename: a power cut leaves the old link or the new one. */
export function switchTo(root: string, slot: SlotName, link = CURRENT_LINK): void {
  if (!existsSync(join(root, slot, 'package.json'))) throw new Error(`slot ${slot} in ${root} holds no app`);
  const next = join(root, `${link}.next`);
  rmSync(next, { force: true });
  symlinkSync(slot, next);
  renameSync(next, join(root, link));
  fsyncPath(root);
}
