-- A department's short code is the namespace of its resource codes
-- (REGION-SHORT-NN): every department has one, and no two share one.

-- +goose Up
UPDATE departments SET short = 'D' || substr(id, 9, 8) WHERE short = '';
CREATE UNIQUE INDEX departments_short ON departments (upper(short));

-- +goose Down
DROP INDEX departments_short;
