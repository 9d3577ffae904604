-- Deleting a blob asks whether any document still names it.
CREATE INDEX documents_sha256 ON documents(sha256);
