// The database as the card holds it after a power cut, on a copy taken from
// the replayed data partition: `node card-db-check.mjs DIR ACCEPTED [IN_FLIGHT]`
// (DIR holds smsbox.db and, if any, its -wal). Opening it runs SQLite's own
// WAL recovery, as the box's next start would. Prints JSON: integrity_check,
// how many accepted bodies are in the outbox, the missing and the duplicated
// ones, and whether each request whose answer never came is there (0 or 1
// times; more is a duplicate too).
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, acceptedFile, inFlightFile] = process.argv.slice(2);
const lines = (file) => (file && existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const accepted = lines(acceptedFile);
const inFlight = lines(inFlightFile);
const db = new Database(join(dir, 'smsbox.db'));
const integrity = db.pragma('integrity_check').map((r) => r.integrity_check).join('; ');
const counts = new Map(db.prepare(`SELECT body, COUNT(*) AS n FROM outbox WHERE body LIKE 'powercut %' GROUP BY body`).all().map((r) => [r.body, r.n]));
const statuses = Object.fromEntries(db.prepare(`SELECT status, COUNT(*) AS n FROM outbox WHERE body LIKE 'powercut %' GROUP BY status`).all().map((r) => [r.status, r.n]));
db.close();
const missing = accepted.filter((b) => !counts.has(b));
const duplicated = [...counts].filter(([, n]) => n > 1).map(([b]) => b);
const unknown = [...counts.keys()].filter((b) => !accepted.includes(b) && !inFlight.includes(b));
process.stdout.write(JSON.stringify({
  integrity,
  accepted: accepted.length,
  present: accepted.length - missing.length,
  missing,
  duplicated,
  inFlightKept: inFlight.filter((b) => counts.has(b)),
  unknown,
  statuses,
}) + '\n');
