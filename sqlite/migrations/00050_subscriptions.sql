-- Subscriptions (issue 20): consumers' standing feeds of a resource's row
-- changes, each bound to an agreement; and the captured changes, written
-- in the transaction of the import that made them, in seq order.

-- +goose Up
CREATE TABLE subscriptions (
	id             TEXT PRIMARY KEY,
	consumer       TEXT NOT NULL,
	resource       TEXT NOT NULL,
	provider       TEXT NOT NULL,
	purpose        TEXT NOT NULL,
	agreement      TEXT NOT NULL,
	fields         TEXT NOT NULL,
	filter         TEXT NOT NULL DEFAULT '[]',
	webhook        TEXT NOT NULL DEFAULT '',
	webhook_secret TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL,
	end_reason     TEXT NOT NULL DEFAULT '',
	created_by     TEXT NOT NULL,
	created_at     TIMESTAMP NOT NULL,
	updated_at     TIMESTAMP NOT NULL,
	after_seq      INTEGER NOT NULL
);
CREATE INDEX subscriptions_consumer ON subscriptions (consumer);
CREATE INDEX subscriptions_resource ON subscriptions (resource, status);

CREATE TABLE changes (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	resource   TEXT NOT NULL,
	op         TEXT NOT NULL,
	row_key    INTEGER NOT NULL,
	row        TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE changes;
DROP TABLE subscriptions;
