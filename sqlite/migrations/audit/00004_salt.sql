-- Each entry's salt: the public log holds a commitment to the entry
-- (hutong.Commitment), which only the entry and its salt open.

-- +goose Up
ALTER TABLE audit_log ADD COLUMN salt BLOB;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN salt;
