-- +goose Up
CREATE TABLE requests (
	id                  TEXT PRIMARY KEY,
	consumer            TEXT NOT NULL REFERENCES departments (id),
	resource            TEXT NOT NULL,
	provider            TEXT NOT NULL,
	fields              TEXT NOT NULL,
	purpose             TEXT NOT NULL,
	legal_basis         TEXT NOT NULL,
	valid_from          TIMESTAMPTZ NOT NULL,
	valid_until         TIMESTAMPTZ NOT NULL,
	row_scope           TEXT NOT NULL DEFAULT '[]',
	rows_per_day        BIGINT NOT NULL,
	requests_per_minute INTEGER NOT NULL,
	status              TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'refused')),
	reason              TEXT NOT NULL DEFAULT '',
	agreement_id        TEXT NOT NULL DEFAULT '',
	requested_by        TEXT NOT NULL,
	created_at          TIMESTAMPTZ NOT NULL,
	due_at              TIMESTAMPTZ NOT NULL,
	decided_at          TIMESTAMPTZ,
	decided_by          TEXT NOT NULL DEFAULT '',
	escalated_at        TIMESTAMPTZ
);
CREATE INDEX requests_provider ON requests (provider, status);
CREATE INDEX requests_consumer ON requests (consumer, status);

CREATE TABLE agreements (
	id                  TEXT PRIMARY KEY,
	request_id          TEXT NOT NULL REFERENCES requests (id),
	consumer            TEXT NOT NULL,
	resource            TEXT NOT NULL,
	provider            TEXT NOT NULL,
	fields              TEXT NOT NULL,
	row_scope           TEXT NOT NULL DEFAULT '[]',
	purpose             TEXT NOT NULL,
	legal_basis         TEXT NOT NULL,
	valid_from          TIMESTAMPTZ NOT NULL,
	valid_until         TIMESTAMPTZ NOT NULL,
	requests_per_minute INTEGER NOT NULL,
	rows_per_day        BIGINT NOT NULL,
	created_at          TIMESTAMPTZ NOT NULL,
	revoked_at          TIMESTAMPTZ,
	revoked_by          TEXT NOT NULL DEFAULT '',
	revoke_reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agreements_consumer ON agreements (consumer, resource);
CREATE INDEX agreements_provider ON agreements (provider);

CREATE TABLE notifications (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	region     TEXT NOT NULL,
	department TEXT NOT NULL DEFAULT '',
	kind       TEXT NOT NULL,
	request_id TEXT NOT NULL DEFAULT '',
	message    TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifications_region ON notifications (region);

CREATE TABLE audit_log (
	idx        BIGINT PRIMARY KEY,
	time       TIMESTAMPTZ NOT NULL,
	kind       TEXT NOT NULL,
	actor      TEXT NOT NULL,
	department TEXT NOT NULL,
	resource   TEXT NOT NULL,
	provider   TEXT NOT NULL,
	agreement  TEXT NOT NULL,
	decision   TEXT NOT NULL,
	rows       BIGINT NOT NULL,
	entry      TEXT NOT NULL
);
CREATE INDEX audit_log_agreement ON audit_log (agreement, time);
CREATE INDEX audit_log_provider ON audit_log (provider, time);

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE audit_log;
DROP TABLE notifications;
DROP TABLE agreements;
DROP TABLE requests;
