-- My data, who used it (datause.go): which audit entries released rows
-- about which subjects, by the keyed hash of the subject's identifier
-- (hex). The entries themselves stay in the journal.

-- +goose Up
CREATE TABLE data_uses (
    subject TEXT NOT NULL,
    idx BIGINT NOT NULL,
    PRIMARY KEY (subject, idx)
);

-- +goose Down
DROP TABLE data_uses;
