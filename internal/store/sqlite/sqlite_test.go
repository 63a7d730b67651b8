package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/sqlite"
	"github.com/keyhole/keyhole/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keyhole.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// TestReopen opens the same file twice: the second open finds the schema
// migrated and keeps the data; the file is readable by its owner only.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhole.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateClient(ctx, storeClient()); err == nil {
		t.Fatal("a client without its account was stored: foreign keys are off")
	}
	db.Close()
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}
