-- The outbox row an entry came from, so that a restarted feeder knows what
-- the journal already holds.

-- +goose Up
ALTER TABLE audit_log ADD COLUMN outbox INTEGER;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN outbox;
