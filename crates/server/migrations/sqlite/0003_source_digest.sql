-- The digest of the document before it was sealed, as the organisation
-- gave it: deposits are idempotent on it (re-running an interrupted batch
-- seals again, with a new time-stamp, but deposits nothing twice).
ALTER TABLE documents ADD COLUMN source_sha256 TEXT NULL;
CREATE UNIQUE INDEX documents_source ON documents(enrolment_id, source_sha256);
CREATE INDEX documents_org_source ON documents(org_id, source_sha256);
