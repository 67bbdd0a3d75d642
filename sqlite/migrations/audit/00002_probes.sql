-- Equality filters on masked fields, counted against each agreement's
-- daily probe budget.

-- +goose Up
ALTER TABLE audit_log ADD COLUMN probes INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN probes;
