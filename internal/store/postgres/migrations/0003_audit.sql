-- The audit log: append-only, plain columns, each record chained by an HMAC
-- over itself and the previous record's MAC. Appends are serialized by a
-- transaction-scoped advisory lock (see AppendAudit), so seq has no gaps
-- even with several servers writing.
CREATE TABLE audit_events (
	seq       BIGINT PRIMARY KEY,
	time      TEXT COLLATE "C" NOT NULL,
	principal TEXT NOT NULL,
	action    TEXT NOT NULL,
	scope     TEXT NOT NULL,
	source    TEXT NOT NULL,
	outcome   TEXT NOT NULL,
	detail    TEXT NOT NULL DEFAULT '',
	mac       BYTEA NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time);

-- The chain head: the newest record's seq and MAC, moved in the same
-- transaction as every append, so records cut from the end are noticed.
CREATE TABLE audit_head (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT  NOT NULL,
	mac BYTEA   NOT NULL
);
