-- The audit outbox: a change to the database writes its audit events here
-- in its own transaction; one feeder moves them, in order, to the journal.

-- +goose Up
CREATE TABLE audit_outbox (
	id    INTEGER PRIMARY KEY AUTOINCREMENT,
	entry TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit_outbox;
