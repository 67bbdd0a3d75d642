-- Agreements' limits kept in the database, so that hub processes sharing it
-- enforce them together (sqlstore.Quota): the rows and masked-field probes
-- used per China Standard Time day, and each agreement's token bucket of
-- calls per minute (tokens left, when last refilled, in Unix seconds).

-- +goose Up
CREATE TABLE agreement_use (
    agreement TEXT NOT NULL,
    day TEXT NOT NULL,
    rows BIGINT NOT NULL DEFAULT 0,
    probes BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (agreement, day)
);
CREATE TABLE agreement_rate (
    agreement TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    last DOUBLE PRECISION NOT NULL
);

-- +goose Down
DROP TABLE agreement_rate;
DROP TABLE agreement_use;
