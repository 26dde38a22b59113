/**
 * Which parts of a config file a restore brings over from another box (or the
 * same box at an earlier time). The shop's settings travel with its data: the
 * WDGJ accounts (their balances are explained by the ledger restored with
 * them, so they must agree), prices, limits, quiet hours, opt-out rules,
 * forwarding and notification channels. What belongs to this box and its
 * network stays: its port and listen address, its admin password (the person
 * restoring has just proved they know it), its modem, LED pins, simulator
 * timing, login lock-out and data folder.
 */

export const RESTORED_SECTIONS = ['account', 'billing', 'sms', 'schedule', 'dispatch', 'optout', 'inbound', 'notify'] as const;
export const KEPT_SECTIONS = ['http', 'admin', 'modem', 'leds', 'simulator', 'security', 'storage', 'system'] as const;

interface Block {
  /** The section name of the header (`account` for `[[account]]`); null for what precedes the first header. */
  section: string | null;
  lines: string[];
}

const HEADER = /^\s*\[\[?\s*([A-Za-z0-9_-]+)(?:\.[A-Za-z0-9_.-]+)?\s*\]\]?\s*(#.*)?$/;

function blocksOf(text: string): Block[] {
  const blocks: Block[] = [{ section: null, lines: [] }];
  for (const line of text.split(/\r?\n/)) {
    const header = HEADER.exec(line);
    if (header) blocks.push({ section: header[1]!, lines: [line] });
    else blocks[blocks.length - 1]!.lines.push(line);
  }
  return blocks;
}

/**
 * This box's config text with the restored sections replaced by the backup's:
 * kept sections (and comments before the first section) stay as they are, in
 * their place; restored ones come from the backup, where the current file had
 * them or else at the end. The caller validates the result with parseConfig.
 */
export function mergeRestoredConfig(current: string, fromBackup: string): string {
  const bom = current.startsWith('\ufeff') ? '\ufeff' : '';
  const eol = /\r\n/.test(current) ? '\r\n' : '\n';
  const mine = blocksOf(current.replace(/^\ufeff/, ''));
  const theirs = blocksOf(fromBackup.replace(/^\ufeff/, '')).filter((b) => b.section !== null && (RESTORED_SECTIONS as readonly string[]).includes(b.section));
  const restored = new Set<string>(RESTORED_SECTIONS);
  const emitted = new Set<string>();
  const out: string[] = [];
  const emitTheirs = (section: string) => {
    if (emitted.has(section)) return;
    emitted.add(section);
    for (const block of theirs) if (block.section === section) out.push(...trimTrailingBlank(block.lines), '');
  };
  for (const block of mine) {
    if (block.section !== null && restored.has(block.section)) {
      emitTheirs(block.section);
      continue;
    }
    out.push(...block.lines);
  }
  for (const section of RESTORED_SECTIONS) {
    if (!emitted.has(section) && theirs.some((b) => b.section === section)) {
      if (out.length > 0 && out[out.length - 1] !== '') out.push('');
      emitTheirs(section);
    }
  }
  return bom + out.join(eol).replace(/(\r?\n){3,}/g, eol + eol);
}

function trimTrailingBlank(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && lines[end - 1]!.trim() === '') end--;
  return lines.slice(0, end);
}
