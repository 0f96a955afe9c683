// Package sqlrow is what Vigil's two SQL stores share: how domain values
// become columns and come back (times as fixed-width text, maps as JSON,
// deployments as a JSON spec with their environment sealed apart), how
// embedded migration files are read, and the chained audit append. Other
// SQL stays in each store, whose dialects differ.
package sqlrow

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/vigil"
)

// Scanner is a *sql.Row or *sql.Rows.
type Scanner interface{ Scan(dest ...any) error }

// ParseTime reads a time written with vigil.StoreTimeLayout (or any
// RFC 3339 form); a malformed value gives the zero time.
func ParseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// JSONText encodes v as JSON text, with "{}" for a nil map.
func JSONText(v any) string {
	b, _ := json.Marshal(v)
	if string(b) == "null" {
		return "{}"
	}
	return string(b)
}

// EndpointColumns are the columns ScanEndpoint reads, in order.
const EndpointColumns = `name, description, auth_mode, public_network_access, tags, traffic, mirror_traffic, created_at, updated_at`

// ScanEndpoint reads one row of EndpointColumns.
func ScanEndpoint(row Scanner) (vigil.Endpoint, error) {
	var e vigil.Endpoint
	var tags, traffic, mirror, created, updated string
	if err := row.Scan(&e.Name, &e.Description, &e.AuthMode, &e.PublicNetworkAccess, &tags, &traffic, &mirror, &created, &updated); err != nil {
		return e, err
	}
	e.Tags, e.Traffic, e.MirrorTraffic = map[string]string{}, map[string]int{}, map[string]int{}
	json.Unmarshal([]byte(tags), &e.Tags)
	json.Unmarshal([]byte(traffic), &e.Traffic)
	json.Unmarshal([]byte(mirror), &e.MirrorTraffic)
	e.CreatedAt, e.UpdatedAt = ParseTime(created), ParseTime(updated)
	return e, nil
}

// DeploymentColumns are the columns ScanDeployment reads, in order.
const DeploymentColumns = `spec, env_sealed, data_key_id, created_at, updated_at`

// ScanDeployment reads one row of DeploymentColumns.
func ScanDeployment(row Scanner) (vigil.SealedDeployment, error) {
	var d vigil.SealedDeployment
	var spec, created, updated string
	var dk sql.NullInt64
	if err := row.Scan(&spec, &d.EnvSealed, &dk, &created, &updated); err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(spec), &d.Deployment); err != nil {
		return d, fmt.Errorf("decode deployment: %w", err)
	}
	d.DataKeyID = dk.Int64
	d.CreatedAt, d.UpdatedAt = ParseTime(created), ParseTime(updated)
	return d, nil
}

// DeploymentSpec is the JSON spec column of d: everything but the
// environment variables (sealed apart) and the timestamps (columns).
func DeploymentSpec(d vigil.Deployment) string {
	d.EnvironmentVariables = nil
	d.CreatedAt, d.UpdatedAt = time.Time{}, time.Time{}
	b, _ := json.Marshal(d)
	return string(b)
}

// NullID is id, or SQL NULL for 0.
func NullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Migration is one embedded migration file, "<version>_<name>.sql".
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads the migration files in dir of fsys, in version order.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and an underscore", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
