-- E-mailed codes for password resets and address changes, and the
-- support requests of students who lost their sign-in address.

CREATE TABLE email_codes (
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (purpose, subject)
);

CREATE TABLE support_requests (
    id INTEGER PRIMARY KEY,
    created_at BIGINT NOT NULL,
    last_name TEXT NOT NULL,
    first_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    university TEXT NOT NULL,
    student_number TEXT NOT NULL,
    possible_emails TEXT NOT NULL,
    message TEXT NOT NULL,
    answered_at BIGINT NULL,
    answer TEXT NULL
);
