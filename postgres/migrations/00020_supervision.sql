-- Supervision (AI 监管): the alerts its detectors raise over the audit
-- journal, the agreements suspended pending review, and how far through
-- the journal the detectors have read (so a restart neither misses nor
-- repeats an event). Evidence and params are JSON text.

-- +goose Up
CREATE TABLE alerts (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	severity    TEXT NOT NULL,
	score       DOUBLE PRECISION NOT NULL,
	status      TEXT NOT NULL,
	agreement   TEXT NOT NULL DEFAULT '',
	consumer    TEXT NOT NULL DEFAULT '',
	provider    TEXT NOT NULL DEFAULT '',
	resource    TEXT NOT NULL DEFAULT '',
	actor       TEXT NOT NULL DEFAULT '',
	evidence    TEXT NOT NULL,
	explanation TEXT NOT NULL,
	params      TEXT NOT NULL DEFAULT '{}',
	first_at    TIMESTAMPTZ NOT NULL,
	detected_at TIMESTAMPTZ NOT NULL,
	opened_at   TIMESTAMPTZ NOT NULL,
	acked_by    TEXT NOT NULL DEFAULT '',
	acked_at    TIMESTAMPTZ,
	resolved_by TEXT NOT NULL DEFAULT '',
	resolved_at TIMESTAMPTZ,
	note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_opened ON alerts (opened_at);
CREATE INDEX alerts_consumer ON alerts (consumer);
CREATE INDEX alerts_provider ON alerts (provider);

CREATE TABLE agreement_suspensions (
	agreement    TEXT PRIMARY KEY,
	alert        TEXT NOT NULL DEFAULT '',
	suspended_by TEXT NOT NULL,
	suspended_at TIMESTAMPTZ NOT NULL,
	reason       TEXT NOT NULL
);

CREATE TABLE supervision_cursor (
	name     TEXT PRIMARY KEY,
	next_idx BIGINT NOT NULL
);

-- +goose Down
DROP TABLE supervision_cursor;
DROP TABLE agreement_suspensions;
DROP TABLE alerts;
