package service_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/postgres"
	"github.com/keyhole/keyhole/internal/store/sqlite"
)

// TestSQLiteThrottleSurvivesRestart: a throttle spent, then the store
// closed and opened again on the same database (and a new service over
// it), still refuses; on SQLite as on PostgreSQL.
func TestSQLiteThrottleSurvivesRestart(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			var open func() store.Store
			switch be.Name {
			case "sqlite":
				path := filepath.Join(t.TempDir(), "keyhole.db")
				open = func() store.Store {
					db, err := sqlite.Open(context.Background(), path)
					if err != nil {
						t.Fatal(err)
					}
					return db
				}
			default:
				url := keyholetest.PostgresSchema(t)
				open = func() store.Store {
					db, err := postgres.Open(context.Background(), url)
					if err != nil {
						t.Fatal(err)
					}
					return db
				}
			}
			ctx := context.Background()
			st := open()
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: st})
			app := newApp(t, ts)
			for range service.DefaultFailedLogins {
				wantCode(t, "a wrong password", authErr(ts, ada, "wrong password", attacker(1)), keyhole.Unauthorized)
			}
			for range 20 {
				_, err := ts.Service.AuthenticateClient(ctx, service.ClientAuth{ID: app.ID, Secret: "khs_wrong", IP: attacker(1)})
				wantCode(t, "a wrong secret", err, keyhole.InvalidClient)
			}
			wantRefused(t, "before the restart", authErr(ts, ada, password, attacker(1)), "for this account from your network address", "")
			ts.Close()
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}

			st = open()
			t.Cleanup(func() { st.Close() })
			ts = keyholetest.NewServer(t, keyholetest.Options{Store: st})
			wantRefused(t, "the right password after the restart", authErr(ts, ada, password, attacker(1)), "for this account from your network address", "")
			_, err := ts.Service.AuthenticateClient(ctx, service.ClientAuth{ID: app.ID, Secret: app.Secret.Reveal(), IP: attacker(1)})
			wantRefused(t, "the right secret after the restart", err, "for this client from your network address", "")
			if err := authErr(ts, ada, password, victim); err != nil {
				t.Errorf("another address after the restart: %v", err)
			}
		})
	}
}
