-- Endpoint settings that are maps, as JSON objects (text, as in SQLite).
ALTER TABLE endpoints ADD COLUMN tags           TEXT NOT NULL DEFAULT '{}';
ALTER TABLE endpoints ADD COLUMN traffic        TEXT NOT NULL DEFAULT '{}';
ALTER TABLE endpoints ADD COLUMN mirror_traffic TEXT NOT NULL DEFAULT '{}';

-- Deployments: the spec as JSON (without environment variables), and the
-- environment variables sealed under a data key.
CREATE TABLE deployments (
	endpoint    TEXT COLLATE "C" NOT NULL REFERENCES endpoints(name) ON DELETE CASCADE,
	name        TEXT COLLATE "C" NOT NULL,
	spec        TEXT   NOT NULL,
	env_sealed  BYTEA,
	data_key_id BIGINT REFERENCES data_keys(id),
	created_at  TEXT COLLATE "C" NOT NULL,
	updated_at  TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (endpoint, name)
);

-- Keys that sign aml_tokens, sealed under a data key. The newest one that is
-- not retired signs; all verify until retired. ord breaks ties between keys
-- made in the same instant, as SQLite's rowid does.
CREATE TABLE signing_keys (
	kid         TEXT COLLATE "C" PRIMARY KEY,
	sealed      BYTEA  NOT NULL,
	data_key_id BIGINT NOT NULL REFERENCES data_keys(id),
	created_at  TEXT COLLATE "C" NOT NULL,
	retired_at  TEXT COLLATE "C",
	ord         BIGINT GENERATED ALWAYS AS IDENTITY
);

-- Access tokens for the management API, stored only as SHA-256 hashes.
CREATE TABLE access_tokens (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT NOT NULL,
	principal  TEXT NOT NULL,
	hash       BYTEA NOT NULL UNIQUE,
	expires_at TEXT COLLATE "C",
	created_at TEXT COLLATE "C" NOT NULL,
	revoked_at TEXT COLLATE "C"
);
