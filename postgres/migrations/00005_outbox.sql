-- The audit outbox: a change to the database writes its audit events here
-- in its own transaction; one feeder moves them, in order, to the journal,
-- and each journal entry names the outbox row it came from.

-- +goose Up
CREATE TABLE audit_outbox (
	id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	entry TEXT NOT NULL
);
ALTER TABLE audit_log ADD COLUMN outbox BIGINT;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN outbox;
DROP TABLE audit_outbox;
