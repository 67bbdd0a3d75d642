-- A notification keeps its facts (params, JSON), which each reader words
-- in its own language; message stays for the notifications written before.

-- +goose Up
ALTER TABLE notifications ADD COLUMN params TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE notifications DROP COLUMN params;
