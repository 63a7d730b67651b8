package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/postgres"
	"github.com/keyhole/keyhole/internal/store/storetest"
)

// TestConformance runs the suite on PostgreSQL, each case in a schema of
// its own; it needs KEYHOLE_TEST_POSTGRES (and fails without it in CI).
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return keyholetest.OpenPostgres(t) })
}

// TestConcurrentMigrations opens several stores on one fresh schema at
// once, as replicas starting together do: the advisory lock lets exactly
// one migrate and the others find the schema ready.
func TestConcurrentMigrations(t *testing.T) {
	url := keyholetest.PostgresSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := postgres.Open(context.Background(), url)
			if err == nil {
				err = db.Ping(context.Background())
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

func TestMalformedURLIsNotEchoed(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://user:hunter2@[bad/x")
	if err == nil {
		t.Fatal("malformed URL accepted")
	}
	if got := err.Error(); strings.Contains(got, "hunter2") {
		t.Errorf("error repeats the password: %s", got)
	}
}
