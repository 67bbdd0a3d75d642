-- Each agreement's daily budget of equality filters on masked fields.

-- +goose Up
ALTER TABLE agreements ADD COLUMN probes_per_day INTEGER NOT NULL DEFAULT 100;

-- +goose Down
ALTER TABLE agreements DROP COLUMN probes_per_day;
