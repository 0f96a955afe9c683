-- Custom roles (built-in roles live in the binary). Names are unique
-- regardless of case, as with SQLite's COLLATE NOCASE.
CREATE TABLE roles (
	name       TEXT COLLATE "C" PRIMARY KEY,
	spec       TEXT NOT NULL,
	created_at TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX roles_name_nocase ON roles (lower(name));

-- Role assignments: a role for a principal at a scope.
CREATE TABLE role_assignments (
	id         TEXT COLLATE "C" PRIMARY KEY,
	principal  TEXT NOT NULL,
	role       TEXT NOT NULL,
	scope      TEXT NOT NULL,
	created_at TEXT COLLATE "C" NOT NULL
);
CREATE UNIQUE INDEX role_assignments_unique ON role_assignments (principal, lower(role), scope);
