package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/vigilhq/vigil/internal/store/sqlite"
	"github.com/vigilhq/vigil/internal/store/storetest"
)

// The embedded store passes the conformance suite on a real database file
// (WAL mode, as in production).
func TestConformance(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) storetest.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigil.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

// So does an in-memory database (one connection).
func TestConformanceInMemory(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) storetest.Store {
		db, err := sqlite.Open(context.Background(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}
