-- +goose Up
CREATE TABLE node_tokens (
	token_hash TEXT PRIMARY KEY,
	region     TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	used_at    TIMESTAMP
);

CREATE TABLE nodes (
	serial      TEXT PRIMARY KEY,
	region      TEXT NOT NULL,
	url         TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	not_after   TIMESTAMP NOT NULL,
	witness_key TEXT NOT NULL DEFAULT '',
	enrolled_at TIMESTAMP NOT NULL,
	revoked_at  TIMESTAMP
);
CREATE INDEX nodes_region ON nodes (region);

-- +goose Down
DROP TABLE nodes;
DROP TABLE node_tokens;
