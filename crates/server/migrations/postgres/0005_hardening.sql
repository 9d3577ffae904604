-- Tokens and codes are now stored as HMAC-SHA-256 under the server's
-- secret: sessions, finalisations under way and e-mailed codes stored as
-- plain SHA-256 can no longer be checked, so they end (students sign in
-- again). API keys and activation codes, handed out and long-lived, are
-- still accepted under their old hash and rewritten on first use.
DELETE FROM sessions;
DELETE FROM activations;
DELETE FROM email_codes;

-- A session's id as its owner sees it in the list of sessions, and what
-- signed in.
ALTER TABLE sessions ADD COLUMN public_id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN label TEXT NULL;
CREATE UNIQUE INDEX sessions_public_id ON sessions(public_id);
CREATE INDEX sessions_account ON sessions(account_id);

-- Room held in the quota for uploads under way: used + reserved never
-- passes the quota.
ALTER TABLE accounts ADD COLUMN reserved_bytes BIGINT NOT NULL DEFAULT 0;
CREATE TABLE upload_reservations (
    id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    bytes BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX upload_reservations_expiry ON upload_reservations(expires_at);

-- Concurrent deletions could each subtract a file's size: count again
-- from what is stored, and never below zero from now on.
UPDATE accounts SET used_bytes = (
    SELECT COALESCE(SUM(d.size), 0) FROM documents d
    WHERE d.account_id = accounts.id AND d.org_id IS NULL
);
ALTER TABLE accounts ADD CONSTRAINT accounts_bytes_never_negative
    CHECK (used_bytes >= 0 AND reserved_bytes >= 0);

-- A change of sign-in address, which the old address can undo for 7 days.
CREATE TABLE email_changes (
    code_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    old_email TEXT NOT NULL,
    new_email TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Wrong e-mailed codes per purpose, subject and day: a daily cap that no
-- number of fresh codes resets.
CREATE TABLE code_failures (
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    day BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    PRIMARY KEY (purpose, subject, day)
);
