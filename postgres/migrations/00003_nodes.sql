-- +goose Up
CREATE TABLE node_tokens (
	token_hash TEXT PRIMARY KEY,
	region     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL,
	used_at    TIMESTAMPTZ
);

CREATE TABLE nodes (
	serial      TEXT PRIMARY KEY,
	region      TEXT NOT NULL,
	url         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	not_after   TIMESTAMPTZ NOT NULL,
	witness_key TEXT NOT NULL DEFAULT '',
	enrolled_at TIMESTAMPTZ NOT NULL,
	revoked_at  TIMESTAMPTZ
);
CREATE INDEX nodes_region ON nodes (region);

-- +goose Down
DROP TABLE nodes;
DROP TABLE node_tokens;
