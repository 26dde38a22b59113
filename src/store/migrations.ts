/**
 * Versioned schema. Each entry moves the database from version i to i+1
 * (PRAGMA user_version) inside one transaction. Never edit a shipped entry:
 * boxes in the field have run it already; append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: accounts and their ledger, requests, the outbox (one row per recipient), events.
  `
  CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    -- 厘 (1/1000 yuan); NULL = unlimited
    balance_li INTEGER,
    -- the balance the config file last stated, so an edit of the file is applied once, as a ledger row
    config_balance_li INTEGER,
    ignore_quiet_hours INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE ledger (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('opening', 'config', 'topup', 'charge', 'refund')),
    amount_li INTEGER NOT NULL,
    balance_after_li INTEGER,
    request_id INTEGER REFERENCES requests(id),
    message_id INTEGER REFERENCES outbox(id),
    note TEXT NOT NULL DEFAULT ''
  );
  CREATE INDEX ledger_account ON ledger(account_id, id);

  CREATE TABLE requests (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    received_at INTEGER NOT NULL,
    client TEXT NOT NULL DEFAULT '',
    -- sha256 of account, recipients and body: a client retry after a timeout matches it
    fingerprint TEXT NOT NULL,
    recipients INTEGER NOT NULL,
    invalid_numbers TEXT NOT NULL DEFAULT '[]'
  );
  CREATE INDEX requests_fingerprint ON requests(fingerprint, received_at);

  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES requests(id),
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    to_number TEXT NOT NULL,
    body TEXT NOT NULL,
    segments INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    charge_li INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'queued'
      CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'suppressed', 'uncertain')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER,
    delivered_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT
  );
  CREATE INDEX outbox_status ON outbox(status, id);
  CREATE INDEX outbox_created ON outbox(created_at);
  CREATE INDEX outbox_sent ON outbox(sent_at) WHERE sent_at IS NOT NULL;
  CREATE INDEX outbox_to ON outbox(to_number);

  CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
    kind TEXT NOT NULL,
    message_zh TEXT NOT NULL,
    message_en TEXT NOT NULL,
    data TEXT
  );
  CREATE INDEX events_at ON events(at);
  `,
  // 2: dispatch — one row per attempt (history, rate-limit accounting), one per segment sent
  // (message references for status reports).
  `
  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES outbox(id),
    modem TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT CHECK (outcome IN ('sent', 'retry', 'failed', 'uncertain', 'suppressed')),
    segments_sent INTEGER NOT NULL DEFAULT 0,
    error TEXT
  );
  CREATE INDEX attempts_message ON attempts(message_id, id);
  CREATE INDEX attempts_modem_started ON attempts(modem, started_at);

  CREATE TABLE message_parts (
    message_id INTEGER NOT NULL REFERENCES outbox(id),
    part INTEGER NOT NULL,
    message_ref INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    report_status INTEGER,
    reported_at INTEGER,
    PRIMARY KEY (message_id, part)
  );
  CREATE INDEX message_parts_ref ON message_parts(recipient, message_ref, sent_at);

  ALTER TABLE outbox ADD COLUMN modem TEXT;
  CREATE INDEX outbox_due ON outbox(status, next_attempt_at, id);
  `,
  // 3: inbound — the inbox (one row per message, reassembled), its parts (deduplicated on the
  // PDU), opt-outs, forwarding jobs; outbox.kind tells the box's own messages from WDGJ ones.
  `
  CREATE TABLE inbox (
    id INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    sender TEXT NOT NULL,
    text TEXT NOT NULL,
    -- the service centre's time stamp of the first part, ISO 8601
    sent_at TEXT,
    -- sender, reference and total of a multipart message; NULL for a single SMS
    concat_key TEXT,
    parts_total INTEGER NOT NULL DEFAULT 1,
    parts_received INTEGER NOT NULL DEFAULT 1,
    complete INTEGER NOT NULL DEFAULT 1,
    -- what the box made of it: optout, resubscribe, forwarded, incomplete, or NULL
    action TEXT,
    processed INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX inbox_concat ON inbox(concat_key, complete, received_at);
  CREATE INDEX inbox_pending ON inbox(processed, complete, received_at);
  CREATE INDEX inbox_sender ON inbox(sender);

  CREATE TABLE inbox_parts (
    inbox_id INTEGER NOT NULL REFERENCES inbox(id),
    part INTEGER NOT NULL,
    text TEXT NOT NULL,
    pdu TEXT NOT NULL UNIQUE,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (inbox_id, part)
  );

  CREATE TABLE optouts (
    number TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('sms', 'admin', 'import')),
    reason TEXT NOT NULL DEFAULT '',
    inbox_id INTEGER REFERENCES inbox(id)
  );

  CREATE TABLE forwards (
    id INTEGER PRIMARY KEY,
    inbox_id INTEGER NOT NULL REFERENCES inbox(id),
    target TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX forwards_due ON forwards(status, next_attempt_at);

  ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'wdgj';
  `,
  // 4: signal history for the status page's 24-hour chart (issue 8), one sample a minute.
  `
  CREATE TABLE signal_samples (
    at INTEGER PRIMARY KEY,
    csq INTEGER
  );
  `,
  // 5: the duplicate lookup goes through a 16-hex-digit prefix of the fingerprint
  // (the full one is still compared, from the row). Keyed on 64-character hashes
  // the index took a random leaf page per request, about a quarter of all WAL
  // writes under a burst. Only requests that can still be inside the longest
  // duplicate window (1 day) need the key; the box's own messages get none.
  `
  ALTER TABLE requests ADD COLUMN fingerprint_key TEXT;
  UPDATE requests SET fingerprint_key = substr(fingerprint, 1, 16)
    WHERE account_id IN (SELECT id FROM accounts WHERE user <> '#system')
      AND received_at >= (SELECT MAX(received_at) FROM requests) - 86400000;
  DROP INDEX requests_fingerprint;
  CREATE INDEX requests_fingerprint_key ON requests(fingerprint_key, received_at) WHERE fingerprint_key IS NOT NULL;
  `,
  // 6: what the dispatcher and the status page ask on every change no longer
  // grows with the queue. In quiet hours the dispatcher looks for urgent
  // accounts' due messages only: without a per-account index that walked every
  // queued row of the others (partial, so it stays the size of the queue).
  // Counting the queue walked its index (6 ms at 100,000 on x86, per page view
  // and per live update): the counts per status are kept by triggers instead,
  // in the same transaction as the change, so they cannot drift. (Outbox rows
  // are never deleted; a purge would need its own trigger.)
  `
  CREATE INDEX outbox_queued_account ON outbox(account_id, next_attempt_at, id) WHERE status = 'queued';

  CREATE TABLE outbox_counts (
    status TEXT PRIMARY KEY,
    n INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO outbox_counts (status, n) SELECT status, COUNT(*) FROM outbox GROUP BY status;
  CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO outbox_counts (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER outbox_counts_update AFTER UPDATE OF status ON outbox WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO outbox_counts (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = n + 1;
  END;
  `,
  // 7: the events log is bounded (src/store/events.ts): repeats of one kind from
  // one client are one row with a count, and each row knows its size in bytes so
  // the table can be kept under its byte bound without scanning it.
  `
  ALTER TABLE events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE events ADD COLUMN last_at INTEGER;
  ALTER TABLE events ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
  UPDATE events SET bytes = length(CAST(kind AS BLOB)) + length(CAST(message_zh AS BLOB)) + length(CAST(message_en AS BLOB)) + COALESCE(length(CAST(data AS BLOB)), 0);
  `,
  // 8: notifications (issue 18, src/store/notify.ts): one row per message to one
  // channel, retried with backoff across restarts; per channel its last delivery
  // and the storm machine's state, so a restart neither repeats nor forgets an alert.
  // A channel is named by a hash of its kind and URL (or number): the URL holds
  // the robot's key, and is not stored.
  `
  CREATE TABLE notify_jobs (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- the platform-neutral message (JSON); rendered at each attempt, so signatures are fresh
    message TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX notify_jobs_due ON notify_jobs(status, next_attempt_at);
  CREATE INDEX notify_jobs_channel ON notify_jobs(channel, status);

  CREATE TABLE notify_channels (
    channel TEXT PRIMARY KEY,
    -- the last attempt at delivering anything, a test included
    last_at INTEGER,
    last_ok INTEGER,
    last_kind TEXT,
    last_error TEXT,
    -- the platform's answer: {status, code, message, body}
    last_answer TEXT,
    -- the storm machine's state per event kind (JSON)
    state TEXT NOT NULL DEFAULT '{}'
  ) WITHOUT ROWID;
  `,
  // 9: replies in context (issue 18): each inbox message names the last message
  // sent to that number within 7 days before it arrived (the notice it answers).
  // Outbox rows are never deleted, so the id is enough: the text and time are
  // read from the outbox. Messages received before this version are linked the
  // same way where their sender is written as the outbox writes numbers (E.164).
  // (No REFERENCES clause: SQLite cannot drop a column that has one.)
  `
  ALTER TABLE inbox ADD COLUMN reply_to INTEGER;
  UPDATE inbox SET reply_to = (
    SELECT o.id FROM outbox o
    WHERE o.to_number = inbox.sender AND o.kind <> 'forward' AND o.status IN ('sent', 'delivered')
      AND o.sent_at <= inbox.received_at AND o.sent_at > inbox.received_at - 604800000
    ORDER BY o.sent_at DESC LIMIT 1
  ) WHERE sender LIKE '+%';
  `,
  // 10: calls in the inbox (issue 17): an entry is an SMS or a call the box hung up.
  // Existing rows are messages. The status model counts today's calls on every
  // snapshot (the LEDs take one a second): an index, not a scan of the inbox.
  `
  ALTER TABLE inbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'sms' CHECK (kind IN ('sms', 'call'));
  CREATE INDEX inbox_calls ON inbox(kind, received_at);
  `,
  // 11: the SIM's own state (issue 17, src/store/sim.ts): self-test runs, balance
  // queries with the carrier's answer, and small named values (the carrier block).
  // The inbox rows these consume are marked in inbox.action (selftest,
  // carrier-balance, carrier-notice, carrier-service), never a customer's.
  `
  CREATE TABLE selftests (
    id INTEGER PRIMARY KEY,
    token TEXT NOT NULL,
    to_number TEXT,
    state TEXT NOT NULL CHECK (state IN ('running', 'ok', 'failed')),
    step TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    message_zh TEXT NOT NULL DEFAULT '',
    message_en TEXT NOT NULL DEFAULT '',
    outbox_id INTEGER,
    inbox_id INTEGER
  );
  CREATE INDEX selftests_state ON selftests(state, id);

  CREATE TABLE sim_balance (
    id INTEGER PRIMARY KEY,
    asked_at INTEGER NOT NULL,
    carrier TEXT NOT NULL,
    query_to TEXT NOT NULL,
    query_text TEXT NOT NULL,
    outbox_id INTEGER,
    answered_at INTEGER,
    -- 厘 (1/1000 yuan), negative when the SIM owes; NULL until read from a reply
    balance_li INTEGER,
    reply TEXT,
    inbox_id INTEGER
  );

  -- the box's messages that go in quiet hours too (selftest, sim-query): found without walking the queue
  CREATE INDEX outbox_queued_kind ON outbox(kind, id) WHERE status = 'queued';

  CREATE TABLE sim_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 12: a pool of SIMs (issue 19). The one modem was called 'hat' in the send
  // history; it is 'sim1' now (the default name of the first modem), so its
  // rate limits carry on. number_modem remembers which SIM last talked to a
  // number (sent to it, or heard from it): the customer keeps getting messages
  // from the number they know. Inbox rows name the SIM that received them.
  `
  UPDATE attempts SET modem = 'sim1' WHERE modem = 'hat';
  UPDATE outbox SET modem = 'sim1' WHERE modem = 'hat';

  CREATE TABLE number_modem (
    number TEXT PRIMARY KEY,
    modem TEXT NOT NULL,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO number_modem (number, modem, at)
    SELECT to_number, modem, MAX(sent_at) FROM outbox
    WHERE sent_at IS NOT NULL AND modem IS NOT NULL GROUP BY to_number;

  ALTER TABLE inbox ADD COLUMN modem TEXT;
  `,
];
