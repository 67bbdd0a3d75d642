-- Each agreement's daily budget of equality filters on masked fields, and
-- the probes each audited call spent.

-- +goose Up
ALTER TABLE agreements ADD COLUMN probes_per_day INTEGER NOT NULL DEFAULT 100;
ALTER TABLE audit_log ADD COLUMN probes INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE audit_log DROP COLUMN probes;
ALTER TABLE agreements DROP COLUMN probes_per_day;
