-- Endpoint settings that are maps, as JSON objects.
ALTER TABLE endpoints ADD COLUMN tags           TEXT NOT NULL DEFAULT '{}';
ALTER TABLE endpoints ADD COLUMN traffic        TEXT NOT NULL DEFAULT '{}';
ALTER TABLE endpoints ADD COLUMN mirror_traffic TEXT NOT NULL DEFAULT '{}';

-- Deployments: the spec as JSON (without environment variables), and the
-- environment variables sealed under a data key.
CREATE TABLE deployments (
	endpoint    TEXT    NOT NULL REFERENCES endpoints(name) ON DELETE CASCADE,
	name        TEXT    NOT NULL,
	spec        TEXT    NOT NULL,
	env_sealed  BLOB,
	data_key_id INTEGER REFERENCES data_keys(id),
	created_at  TEXT    NOT NULL,
	updated_at  TEXT    NOT NULL,
	PRIMARY KEY (endpoint, name)
);

-- Keys that sign aml_tokens, sealed under a data key. The newest one that is
-- not retired signs; all verify until retired.
CREATE TABLE signing_keys (
	kid         TEXT    PRIMARY KEY,
	sealed      BLOB    NOT NULL,
	data_key_id INTEGER NOT NULL REFERENCES data_keys(id),
	created_at  TEXT    NOT NULL,
	retired_at  TEXT
);

-- Access tokens for the management API, stored only as SHA-256 hashes.
CREATE TABLE access_tokens (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	principal  TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	expires_at TEXT,
	created_at TEXT NOT NULL,
	revoked_at TEXT
);
