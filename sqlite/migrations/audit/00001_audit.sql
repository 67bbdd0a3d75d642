-- The audit log lives in a file of its own (see sqlite.Open).

-- +goose Up
CREATE TABLE audit_log (
	idx        INTEGER PRIMARY KEY,
	time       TIMESTAMP NOT NULL,
	kind       TEXT NOT NULL,
	actor      TEXT NOT NULL,
	department TEXT NOT NULL,
	resource   TEXT NOT NULL,
	provider   TEXT NOT NULL,
	agreement  TEXT NOT NULL,
	decision   TEXT NOT NULL,
	rows       INTEGER NOT NULL,
	entry      TEXT NOT NULL
);
CREATE INDEX audit_log_agreement ON audit_log (agreement, time);
CREATE INDEX audit_log_provider ON audit_log (provider, time);

-- +goose Down
DROP TABLE audit_log;
