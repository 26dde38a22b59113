import type { Store } from '../../src/store/store.js';

/**
 * Takes a database back to an older schema version, as a box of that
 * version left it (the rows stay), so a test can open it with this code and
 * watch the migrations after it run on real data. One undo per migration:
 * a new migration adds its own here.
 */
const UNDO: Record<number, string> = {
  6: 'DROP TRIGGER outbox_counts_insert; DROP TRIGGER outbox_counts_update; DROP TABLE outbox_counts; DROP INDEX outbox_queued_account',
  7: 'ALTER TABLE events DROP COLUMN repeats; ALTER TABLE events DROP COLUMN last_at; ALTER TABLE events DROP COLUMN bytes',
  8: 'DROP TABLE notify_jobs; DROP TABLE notify_channels',
  9: 'ALTER TABLE inbox DROP COLUMN reply_to',
  10: 'DROP INDEX inbox_calls; ALTER TABLE inbox DROP COLUMN kind',
  11: 'DROP TABLE selftests; DROP TABLE sim_balance; DROP TABLE sim_state; DROP INDEX outbox_queued_kind',
  // Its rename of the send history ('hat' → 'sim1') is not undone: tests of it write 'hat' rows themselves.
  12: 'DROP TABLE number_modem; ALTER TABLE inbox DROP COLUMN modem',
};

export function rollBackSchema(store: Store, version: number): void {
  const current = store.db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v > version; v--) {
    const undo = UNDO[v];
    if (undo === undefined) throw new Error(`no undo for migration ${v}: add it to test/helpers/schema.ts`);
    store.db.exec(undo);
  }
  store.db.pragma(`user_version = ${version}`);
}
