-- Coffre's schema (SQLite). Times are Unix seconds; flags are 0/1.

CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    -- Lower-case domains, comma-separated: addresses there are not personal.
    domains TEXT NOT NULL,
    api_key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    used_bytes BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- A student of an organisation: pre-created from the roster, refused, or
-- finalised into an account.
CREATE TABLE enrolments (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organisations(id),
    student_number TEXT NOT NULL,
    last_name TEXT NOT NULL,
    first_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    institutional_email TEXT NOT NULL,
    state TEXT NOT NULL,
    account_id BIGINT NULL REFERENCES accounts(id),
    former BIGINT NOT NULL DEFAULT 0,
    activation_code_hash TEXT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, student_number)
);
CREATE INDEX enrolments_account ON enrolments(account_id);

-- A finalisation in progress (the three steps).
CREATE TABLE activations (
    token_hash TEXT PRIMARY KEY,
    enrolment_id BIGINT NOT NULL REFERENCES enrolments(id) ON DELETE CASCADE,
    email TEXT NULL,
    email_code_hash TEXT NULL,
    code_expires_at BIGINT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    email_verified BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Documents: organisation deposits (enrolment_id set; account_id set once
-- the safe is finalised) and personal uploads (account_id only).
CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    account_id BIGINT NULL REFERENCES accounts(id),
    enrolment_id BIGINT NULL REFERENCES enrolments(id),
    org_id BIGINT NULL REFERENCES organisations(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    academic_year TEXT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX documents_account ON documents(account_id, created_at);
CREATE INDEX documents_enrolment ON documents(enrolment_id);
CREATE UNIQUE INDEX documents_deposit ON documents(enrolment_id, sha256);
