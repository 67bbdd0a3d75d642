-- Supervision's webhooks and their deliveries: a delivery is queued in
-- the transaction that raises its alert, so none is lost while a receiver
-- or the hub is down; each attempt updates its row.

-- +goose Up
CREATE TABLE webhooks (
	id         TEXT PRIMARY KEY,
	url        TEXT NOT NULL,
	secret     TEXT NOT NULL,
	department TEXT NOT NULL DEFAULT '',
	region     TEXT NOT NULL DEFAULT '',
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	webhook     TEXT NOT NULL,
	alert       TEXT NOT NULL,
	state       TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     TIMESTAMPTZ NOT NULL,
	last_status INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	done_at     TIMESTAMPTZ
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
