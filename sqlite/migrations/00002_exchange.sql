-- +goose Up
CREATE TABLE requests (
	id                  TEXT PRIMARY KEY,
	consumer            TEXT NOT NULL REFERENCES departments (id),
	resource            TEXT NOT NULL,
	provider            TEXT NOT NULL,
	fields              TEXT NOT NULL,
	purpose             TEXT NOT NULL,
	legal_basis         TEXT NOT NULL,
	valid_from          TIMESTAMP NOT NULL,
	valid_until         TIMESTAMP NOT NULL,
	row_scope           TEXT NOT NULL DEFAULT '[]',
	rows_per_day        INTEGER NOT NULL,
	requests_per_minute INTEGER NOT NULL,
	status              TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'refused')),
	reason              TEXT NOT NULL DEFAULT '',
	agreement_id        TEXT NOT NULL DEFAULT '',
	requested_by        TEXT NOT NULL,
	created_at          TIMESTAMP NOT NULL,
	due_at              TIMESTAMP NOT NULL,
	decided_at          TIMESTAMP,
	decided_by          TEXT NOT NULL DEFAULT '',
	escalated_at        TIMESTAMP
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
	valid_from          TIMESTAMP NOT NULL,
	valid_until         TIMESTAMP NOT NULL,
	requests_per_minute INTEGER NOT NULL,
	rows_per_day        INTEGER NOT NULL,
	created_at          TIMESTAMP NOT NULL,
	revoked_at          TIMESTAMP,
	revoked_by          TEXT NOT NULL DEFAULT '',
	revoke_reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX agreements_consumer ON agreements (consumer, resource);
CREATE INDEX agreements_provider ON agreements (provider);

CREATE TABLE notifications (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	region     TEXT NOT NULL,
	department TEXT NOT NULL DEFAULT '',
	kind       TEXT NOT NULL,
	request_id TEXT NOT NULL DEFAULT '',
	message    TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);
CREATE INDEX notifications_region ON notifications (region);

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE notifications;
DROP TABLE agreements;
DROP TABLE requests;
