-- Data keys, wrapped by a key-encryption key. Secrets are sealed under them.
CREATE TABLE data_keys (
	id         INTEGER PRIMARY KEY,
	kek_id     TEXT    NOT NULL,
	wrapped    BLOB    NOT NULL,
	created_at TEXT    NOT NULL
);

-- Endpoints. "default" is built in.
CREATE TABLE endpoints (
	name                  TEXT PRIMARY KEY,
	description           TEXT NOT NULL DEFAULT '',
	auth_mode             TEXT NOT NULL DEFAULT 'key',
	public_network_access TEXT NOT NULL DEFAULT 'enabled',
	created_at            TEXT NOT NULL,
	updated_at            TEXT NOT NULL
);

-- Endpoint keys: a keyed lookup digest and the key sealed under a data key.
-- No key is ever stored in plaintext.
CREATE TABLE credentials (
	endpoint    TEXT    NOT NULL REFERENCES endpoints(name) ON DELETE CASCADE,
	slot        TEXT    NOT NULL CHECK (slot IN ('primary', 'secondary')),
	digest      BLOB    NOT NULL UNIQUE,
	sealed      BLOB    NOT NULL,
	data_key_id INTEGER NOT NULL REFERENCES data_keys(id),
	updated_at  TEXT    NOT NULL,
	PRIMARY KEY (endpoint, slot)
);
