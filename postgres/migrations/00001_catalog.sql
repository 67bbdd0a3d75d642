-- +goose Up
CREATE TABLE departments (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	name_en    TEXT NOT NULL DEFAULT '',
	region     TEXT NOT NULL,
	short      TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE resources (
	id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	code             TEXT NOT NULL UNIQUE,
	name             TEXT NOT NULL,
	name_en          TEXT NOT NULL DEFAULT '',
	provider         TEXT NOT NULL REFERENCES departments (id),
	region           TEXT NOT NULL,
	summary          TEXT NOT NULL,
	format           TEXT NOT NULL,
	items            TEXT NOT NULL,
	share_type       TEXT NOT NULL CHECK (share_type IN ('unconditional', 'conditional', 'none')),
	share_conditions TEXT NOT NULL DEFAULT '',
	legal_basis      TEXT NOT NULL DEFAULT '',
	open_type        TEXT NOT NULL,
	update_cycle     TEXT NOT NULL,
	publish_date     TEXT NOT NULL CHECK (publish_date ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
	related          TEXT NOT NULL DEFAULT '[]',
	level            INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
	grade            TEXT NOT NULL CHECK (grade IN ('general', 'important', 'core')),
	tags             TEXT NOT NULL DEFAULT '[]',
	hosted           TEXT NOT NULL CHECK (hosted IN ('hub', 'node')),
	row_count        BIGINT NOT NULL DEFAULT 0,
	created_at       TIMESTAMPTZ NOT NULL,
	updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX resources_provider ON resources (provider);

CREATE TABLE users (
	id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	login         TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	department    TEXT NOT NULL DEFAULT '',
	region        TEXT NOT NULL DEFAULT '',
	roles         TEXT NOT NULL,
	password_hash TEXT NOT NULL DEFAULT '',
	created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE credentials (
	id         TEXT PRIMARY KEY,
	department TEXT NOT NULL REFERENCES departments (id),
	name       TEXT NOT NULL,
	key_hash   TEXT NOT NULL,
	created_by BIGINT REFERENCES users (id),
	created_at TIMESTAMPTZ NOT NULL,
	revoked_at TIMESTAMPTZ
);
CREATE INDEX credentials_department ON credentials (department);

-- +goose Down
DROP TABLE credentials;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE resources;
DROP TABLE departments;
