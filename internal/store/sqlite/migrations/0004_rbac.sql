-- Custom roles (built-in roles live in the binary).
CREATE TABLE roles (
	name       TEXT PRIMARY KEY COLLATE NOCASE,
	spec       TEXT NOT NULL,
	created_at TEXT NOT NULL
);

-- Role assignments: a role for a principal at a scope.
CREATE TABLE role_assignments (
	id         TEXT PRIMARY KEY,
	principal  TEXT NOT NULL,
	role       TEXT NOT NULL COLLATE NOCASE,
	scope      TEXT NOT NULL,
	created_at TEXT NOT NULL,
	UNIQUE (principal, role, scope)
);
